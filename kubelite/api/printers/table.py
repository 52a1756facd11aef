"""Server-side Table printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`).

Every built-in kind has upstream's columns; kinds upstream prints with the generic
convertor (Role, ClusterRole, LimitRange, CRDs...) get Name and Created At; custom
resources get their CRD version's additionalPrinterColumns. Rows always carry every
column, wide ones included, and an `object` per `includeObject`: PartialObjectMetadata
(default), the full object, or null.
"""

from __future__ import annotations

import copy
import functools
from datetime import UTC, datetime
from typing import Any

from kubelite.api import errors, registry
from kubelite.api.printers import (
    apps,
    autoscaling,
    batch,
    cells,
    cluster,
    columns,
    core,
    custom,
    duration,
    events,
    metrics,
    networking,
    pods,
    storage,
)

Obj = dict[str, Any]
INCLUDE_OBJECT = ("Metadata", "Object", "None")


def _created_at(obj: Obj, now: datetime) -> list[Any]:
    created = duration.parse_time(cells.get(obj, "metadata", "creationTimestamp"))
    text = created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if created else \
        "0001-01-01T00:00:00Z"  # Go's zero time, as upstream prints an unset timestamp
    return [cells.name(obj), text]


DEFAULT = columns.printer([
    columns.name(),
    columns.column("Created At", "date", "CreationTimestamp is when the server created this "
                   "object, in RFC 3339 form."),
], _created_at)


@functools.cache
def _builtin() -> dict[tuple[str, str], columns.Printer]:
    out: dict[tuple[str, str], columns.Printer] = {
        ("", "Pod"): columns.printer(pods.COLUMNS, pods.pod_cells, pods.pod_conditions)}
    for module in (core, events, apps, batch, autoscaling, networking, storage, cluster,
                   metrics):
        for key, printer in module.printers().items():
            if key in out:
                raise ValueError(f"duplicate printer for {key}")
            out[key] = printer
    return out


def printer_for(rt: registry.ResourceType) -> columns.Printer:
    """The printer used for `rt` (custom, built-in, or the Name/Created At default)."""
    if rt.crd is not None:
        return custom.printer(rt.crd)
    return _builtin().get((rt.group, rt.kind), DEFAULT)


def column_definitions(rt: registry.ResourceType) -> list[dict[str, Any]]:
    """The Table columnDefinitions for `rt`; the first is always Name (format "name")."""
    return copy.deepcopy(list(printer_for(rt).columns))


def _row_object(obj: Obj, include_object: str) -> Obj | None:
    if include_object == "Object":
        return obj
    if include_object == "None":
        return None
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


def rows(rt: registry.ResourceType, objects: list[Obj], *, now: datetime,
         include_object: str = "Metadata") -> list[dict[str, Any]]:
    """One row per object: its cells and the object as `includeObject` asks."""
    mode = _include_mode(include_object)
    printer = printer_for(rt)
    out = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.cells(obj, now),
                               "object": _row_object(obj, mode)}
        conditions = printer.conditions(obj) if printer.conditions else []
        if conditions:
            row["conditions"] = conditions
        out.append(row)
    return out


def _include_mode(value: str) -> str:
    if not value:
        return "Metadata"
    if value not in INCLUDE_OBJECT:
        raise errors.BadRequest(f'includeObject: Unsupported value: "{value}": supported values: '
                                f'"Metadata", "None", "Object"')
    return value


def to_table(rt: registry.ResourceType, objects: list[Obj], *, now: datetime,
             include_object: str = "Metadata", resource_version: str = "",
             continue_token: str = "", remaining: int | None = None) -> dict[str, Any]:
    """A complete meta.k8s.io/v1 Table for `objects` of type `rt`."""
    meta: dict[str, Any] = {}
    if resource_version:
        meta["resourceVersion"] = resource_version
    if continue_token:
        meta["continue"] = continue_token
    if remaining is not None:
        meta["remainingItemCount"] = remaining
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
            "columnDefinitions": column_definitions(rt),
            "rows": rows(rt, objects, now=now, include_object=include_object)}
