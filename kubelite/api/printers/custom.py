"""Columns for custom resources, from the CRD version's additionalPrinterColumns.

A version without columns gets a single Age column (date of .metadata.creationTimestamp),
as the apiextensions server does. Each cell is the first JSONPath match, typed by the
column: integer/number/boolean values pass through, dates print as ages, strings as text;
a missing value or a value of the wrong type is null (kubectl shows `<none>`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kubelite.api.printers import columns, duration, jsonpath

Obj = dict[str, Any]
_DEFAULT = [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]


def _definition(col: Mapping[str, Any]) -> dict[str, Any]:
    path = str(col.get("jsonPath", ""))
    description = col.get("description") or \
        f"Custom resource definition column (in JSONPath format): {path}"
    return columns.column(str(col.get("name", "")), str(col.get("type", "string")),
                          str(description), priority=int(col.get("priority") or 0),
                          fmt=str(col.get("format") or ""))


def _typed(kind: str, value: Any, now: datetime) -> Any:
    if value is None:
        return None
    if kind == "string":
        return jsonpath.text(value)
    if kind == "integer" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind == "date" and isinstance(value, str):
        then = duration.parse_time(value)
        return "<invalid>" if then is None else duration.human(now - then)
    return None


def _column_cell(col: Mapping[str, Any]) -> Callable[[Obj, datetime], Any]:
    kind = str(col.get("type", "string"))
    try:
        path: jsonpath.Path | None = jsonpath.compile(str(col.get("jsonPath", "")))
    except jsonpath.JSONPathError:
        path = None

    def cell(obj: Obj, now: datetime) -> Any:
        found = path.find(obj) if path is not None else []
        return _typed(kind, found[0], now) if found else None
    return cell


def printer(version: Mapping[str, Any]) -> columns.Printer:
    """The printer for one served CRD version (the `rt.crd` entry)."""
    cols = version.get("additionalPrinterColumns") or _DEFAULT
    getters = [_column_cell(c) for c in cols]

    def cells(obj: Obj, now: datetime) -> list[Any]:
        name = (obj.get("metadata") or {}).get("name", "")
        return [name, *(get(obj, now) for get in getters)]
    return columns.printer([columns.name(), *(_definition(c) for c in cols)], cells)
