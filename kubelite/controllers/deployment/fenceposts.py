"""maxSurge / maxUnavailable: int-or-percent values resolved against the replica count.

Surge rounds up and unavailability rounds down, so a small deployment can always make
progress; if both resolve to zero, unavailability becomes one (validation forbids both
being zero as written, but rounding down can still get there).
"""

from __future__ import annotations

import math
from typing import Any

from kubelite.api import errors

Obj = dict[str, Any]
DEFAULT = "25%"


def scaled_value(value: int | str | None, total: int, *, round_up: bool) -> int:
    """An IntOrString as an absolute count of `total` (apimachinery's GetScaledValueFromIntOrPercent)."""
    if value is None:
        value = DEFAULT
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = int(value[:-1])
        except ValueError:
            raise errors.BadRequest(f"invalid value for IntOrString: invalid value {value!r}"
                                    ) from None
        exact = pct * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise errors.BadRequest(f"invalid value for IntOrString: invalid type: string is not a "
                            f"percentage: {value!r}")


def replicas(d: Obj) -> int:
    value = (d.get("spec") or {}).get("replicas")
    return 1 if value is None else int(value)


def is_rolling(d: Obj) -> bool:
    strategy = (d.get("spec") or {}).get("strategy") or {}
    return strategy.get("type", "RollingUpdate") == "RollingUpdate"


def resolve(d: Obj) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) as absolute counts for a rolling deployment."""
    rolling = ((d.get("spec") or {}).get("strategy") or {}).get("rollingUpdate") or {}
    desired = replicas(d)
    surge = scaled_value(rolling.get("maxSurge"), desired, round_up=True)
    unavailable = scaled_value(rolling.get("maxUnavailable"), desired, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def max_surge(d: Obj) -> int:
    return resolve(d)[0] if is_rolling(d) else 0


def max_unavailable(d: Obj) -> int:
    desired = replicas(d)
    if not is_rolling(d) or desired == 0:
        return 0
    return min(resolve(d)[1], desired)
