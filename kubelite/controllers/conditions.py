"""Finding a condition by type in an object's status (pods, nodes, deployments alike)."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def find(status: Obj | None, type_: str) -> Obj | None:
    """The condition of `type_` in a status, or None."""
    for c in (status or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c  # type: ignore[no-any-return]
    return None


def of(obj: Obj, type_: str) -> Obj | None:
    """The condition of `type_` of an object, or None."""
    return find(obj.get("status"), type_)
