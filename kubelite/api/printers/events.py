"""The Event row, for core/v1 Events and for events.k8s.io/v1 ones (renamed fields)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubelite.api.printers import cells, columns, duration
from kubelite.api.printers.columns import column, wide

Obj = dict[str, Any]

COLUMNS = [
    column("Last Seen", description="The time at which the most recent occurrence was recorded."),
    column("Type", description="Type of this event (Normal, Warning)."),
    column("Reason", description="Short machine-readable reason for the transition."),
    column("Object", description="The object this event is about."),
    wide("Subobject", "The part of the object this event is about (fieldPath)."),
    wide("Source", "The component reporting this event."),
    column("Message", description="A human-readable description of this event."),
    wide("First Seen", "The time at which the event was first recorded."),
    wide("Count", "The number of times this event has occurred."),
    columns.column("Name", description=columns.NAME_DOC, priority=1, fmt="name"),
]


def _core_view(ev: Obj) -> Obj:
    """An events.k8s.io/v1 Event in core/v1 field names (core events pass unchanged)."""
    if "involvedObject" in ev or "regarding" not in ev and "note" not in ev:
        return ev
    return {
        "metadata": ev.get("metadata") or {}, "involvedObject": ev.get("regarding") or {},
        "message": ev.get("note", ""), "reason": ev.get("reason", ""), "type": ev.get("type", ""),
        "source": ev.get("deprecatedSource") or {}, "count": ev.get("deprecatedCount"),
        "firstTimestamp": ev.get("deprecatedFirstTimestamp"),
        "lastTimestamp": ev.get("deprecatedLastTimestamp"), "eventTime": ev.get("eventTime"),
        "series": ev.get("series"), "reportingComponent": ev.get("reportingController", ""),
        "reportingInstance": ev.get("reportingInstance", ""),
    }


def _source(ev: Obj) -> str:
    source = ev.get("source") or {}
    component = source.get("component") or ev.get("reportingComponent") or ""
    host = source.get("host") or ev.get("reportingInstance") or ""
    return f"{component}, {host}" if host else str(component)


def _target(ev: Obj) -> str:
    ref = ev.get("involvedObject") or {}
    kind = str(ref.get("kind", "")).lower()
    return f"{kind}/{ref['name']}" if ref.get("name") else kind


def event_cells(raw: Obj, now: datetime) -> list[Any]:
    ev = _core_view(raw)
    first = duration.since(ev.get("firstTimestamp"), now)
    if duration.parse_time(ev.get("firstTimestamp")) is None:
        first = duration.since(ev.get("eventTime"), now)
    last = first
    if duration.parse_time(ev.get("lastTimestamp")) is not None:
        last = duration.since(ev.get("lastTimestamp"), now)
    count = int(ev.get("count") or 0)
    series = ev.get("series")
    if series:
        last = duration.since(series.get("lastObservedTime"), now)
        count = int(series.get("count") or 0)
    elif count == 0:
        count = 1
    return [last, ev.get("type", ""), ev.get("reason", ""), _target(ev),
            cells.get(ev, "involvedObject", "fieldPath", default=""), _source(ev),
            str(ev.get("message") or "").strip(), first, count, cells.name(ev)]


def printers() -> dict[tuple[str, str], columns.Printer]:
    printer = columns.printer(COLUMNS, event_cells)
    return {("", "Event"): printer, ("events.k8s.io", "Event"): printer}
