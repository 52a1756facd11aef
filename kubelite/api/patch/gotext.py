"""Error texts of upstream's strategic merge patch library, for the errors it passes
through to clients verbatim (they print decoded JSON the way Go's %v does).
"""

from __future__ import annotations

from typing import Any

from kubelite.api import patch as patch_errors

_GO_TYPES = {dict: "map[string]interface {}", list: "[]interface {}", str: "string",
             bool: "bool", int: "int64", float: "float64"}


def go_type(value: Any) -> str:
    """The Go type name of a decoded JSON value."""
    return _GO_TYPES.get(type(value), "%!s(<nil>)")


def go_format(value: Any) -> str:
    """`value` as Go's %v prints decoded JSON (maps with sorted keys)."""
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_format(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_format(v) for v in value) + "]"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def expect_list(value: Any) -> list[Any]:
    """`value` if it is a list, else upstream's bad-argument error."""
    if not isinstance(value, list):
        raise patch_errors.Failed(f"expected a []interface {{}}, but received a {go_type(value)}")
    return value


def expect_map(value: Any) -> dict[str, Any]:
    """`value` if it is a map, else upstream's bad-argument error."""
    if not isinstance(value, dict):
        raise patch_errors.Failed(
            f"expected a map[string]interface {{}}, but received a {go_type(value)}")
    return value


def no_merge_key(item: Any, merge_key: str) -> patch_errors.Failed:
    """The error for a merge-list element without its merge key."""
    return patch_errors.Failed(
        f"map: {go_format(item)} does not contain declared merge key: {merge_key}")
