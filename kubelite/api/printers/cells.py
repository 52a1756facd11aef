"""Reading objects into cell values: nested lookups and formats several printers share."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from kubelite.api import quantity
from kubelite.api.printers import duration

Obj = dict[str, Any]


def get(obj: Any, *keys: str | int, default: Any = None) -> Any:
    """obj[k1][k2]...; `default` when any step is missing or of the wrong shape."""
    cur = obj
    for k in keys:
        if isinstance(k, int):
            cur = cur[k] if isinstance(cur, list) and -len(cur) <= k < len(cur) else None
        else:
            cur = cur.get(k) if isinstance(cur, dict) else None
        if cur is None:
            return default
    return cur


def name(obj: Obj) -> str:
    return str(get(obj, "metadata", "name", default=""))


def age(obj: Obj, now: datetime) -> str:
    return duration.since(get(obj, "metadata", "creationTimestamp"), now)


def deleting(obj: Obj) -> bool:
    return get(obj, "metadata", "deletionTimestamp") is not None


def integer(obj: Obj, *keys: str, default: int = 0) -> int:
    value = get(obj, *keys)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def containers(pod_spec: Any) -> tuple[str, str]:
    """Container names and images, comma-joined (layoutContainerCells)."""
    items = get(pod_spec, "containers", default=[])
    return (",".join(str(c.get("name", "")) for c in items),
            ",".join(str(c.get("image", "")) for c in items))


def with_more(items: list[str], total: int, limit: int = 3, empty: str = "<unset>") -> str:
    """`a,b,c + N more...` once more than `limit` entries exist (listWithMoreString)."""
    text = ",".join(items[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or empty


def qty(value: Any) -> str:
    """A quantity in canonical form ("0" when unset), as resource.Quantity.String()."""
    if value is None:
        return "0"
    try:
        return quantity.canonical(value)
    except (ValueError, TypeError):
        return str(value)


def int_or_string(value: Any) -> str:
    return str(value)


def bool_ptr(value: Any) -> str:
    """printBoolPtr: "True", "False" or "<unset>"."""
    if value is None:
        return "<unset>"
    return "True" if value else "False"


def load_balancer(ingress: Iterable[Any] | None) -> str:
    """Sorted distinct IPs (or hostnames) of a load-balancer status, comma-joined."""
    found = {str(i.get("ip") or i.get("hostname")) for i in ingress or []
             if i.get("ip") or i.get("hostname")}
    return ",".join(sorted(found))


def condition_true(obj: Obj, type_: str) -> bool:
    return any(c.get("type") == type_ and c.get("status") == "True"
               for c in get(obj, "status", "conditions", default=[]))
