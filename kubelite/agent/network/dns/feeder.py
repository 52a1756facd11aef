"""Keeping a `records.Zone` current from shared informers of Services, EndpointSlices, Pods."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelite.agent.network.dns import records
from kubelite.client import factory, informer

SOURCES = (("v1", "Service"), ("discovery.k8s.io/v1", "EndpointSlice"), ("v1", "Pod"))


def feed(informers: factory.InformerFactory, zone: records.Zone) -> None:
    """Register handlers that apply every informer event to `zone` (before the factory starts)."""
    handlers = {
        "Service": (zone.upsert_service, zone.delete_service),
        "EndpointSlice": (zone.upsert_slice, zone.delete_slice),
        "Pod": (zone.upsert_pod, zone.delete_pod),
    }
    for api_version, kind in SOURCES:
        upsert, delete = handlers[kind]
        informers.informer(api_version, kind).add_handlers(_handlers(upsert, delete))


def _handlers(upsert: Callable[[Any], None], delete: Callable[[Any], None]) -> informer.Handlers:
    def on_update(old: Any, new: Any) -> None:
        if old["metadata"].get("resourceVersion") != new["metadata"].get("resourceVersion"):
            upsert(new)

    return informer.Handlers(on_add=upsert, on_update=on_update, on_delete=delete)
