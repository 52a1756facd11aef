"""What every request handler needs: the registry, object storage, cache and settings."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubelite.api import errors
from kubelite.api import registry as registry_mod
from kubelite.apiserver import objects, watchcache

Obj = dict[str, Any]


@dataclass
class Context:
    registry: registry_mod.Registry
    objects: objects.Objects
    cache: watchcache.Cache
    # Called after a CRD is written so its types are (re)registered at once.
    on_crd_change: list[Callable[[Obj | None, Obj | None], None]] = field(default_factory=list)
    # Proxies pods/log, exec, attach, portforward to node agents (set by the agent layer).
    node_proxy: Any = None
    # Reads node agents' stats summaries for metrics.k8s.io (a metrics_scraper.Scraper).
    metrics: Any = None
    warnings_header: str = "Warning"

    @staticmethod
    def now() -> datetime.datetime:
        return datetime.datetime.now(datetime.UTC)

    def resource(self, group: str, version: str, plural: str) -> registry_mod.ResourceType:
        rt = self.registry.lookup(group, version, plural)
        if rt is None:
            raise errors.PathNotFound()
        return rt

    def namespace_type(self) -> registry_mod.ResourceType:
        rt = self.registry.lookup("", "v1", "namespaces")
        assert rt is not None
        return rt

    async def check_namespace(self, namespace: str, *, creating: bool) -> None:
        """A namespaced write needs its namespace; new content can't enter a dying one."""
        ns_rt = self.namespace_type()
        entry = await self.objects.get_entry(ns_rt, "", namespace)
        if entry is None:
            raise errors.NotFound("", "namespaces", namespace)
        if creating and b'"deletionTimestamp"' in entry.raw:
            obj = entry.decode()
            if obj["metadata"].get("deletionTimestamp"):
                raise errors.Forbidden(
                    f"unable to create new content in namespace {namespace} because it is being "
                    f"terminated", kind="namespaces", name=namespace)
