"""Strategic merge patch metadata of a field, read from the schemas.

Upstream reads Go struct tags (`patchStrategy`, `patchMergeKey`); the same facts are in
the published schemas as `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key`
on the property (next to its `$ref`, so they are read before resolving it).
"""

from __future__ import annotations

import functools
from typing import Any

from kubelite.api import patch as patch_errors
from kubelite.api import schemas


def field_meta(schema: dict[str, Any] | None, key: str) -> tuple[dict[str, Any] | None, str, str]:
    """(resolved sub-schema, strategy without retainKeys, merge key) of one field.

    A field the schema does not declare gets the map-values schema (for maps such as
    labels) or None, with no strategy: maps then merge, lists are replaced.
    """
    if schema is None:
        return None, "", ""
    raw = (schema.get("properties") or {}).get(key)
    if raw is None:
        return schemas.map_values_schema(schema), "", ""
    strategy = strategy_of(raw.get("x-kubernetes-patch-strategy", ""))
    return schemas.resolve(raw), strategy, raw.get("x-kubernetes-patch-merge-key", "")


@functools.lru_cache(maxsize=64)
def strategy_of(declared: str) -> str:
    """"merge", "replace" or "": retainKeys only matters when a patch sends `$retainKeys`."""
    parts = [p for p in declared.split(",") if p and p != "retainKeys"]
    if len(parts) > 1:
        raise patch_errors.Failed(f"unexpected patch strategy: {declared}")
    return parts[0] if parts else ""


def items_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """The resolved schema of a list's elements, if known."""
    return schemas.items_schema(schema) if schema is not None else None
