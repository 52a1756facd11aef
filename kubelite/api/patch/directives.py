"""The directive vocabulary of strategic merge patch, and patch values made plain.

Directives are patch members whose names start with `$`: `$patch`, `$retainKeys`,
`$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`. They steer the merge
and never land in an object.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import errors

PATCH = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ELEMENT_ORDER = "$setElementOrder"
DELETE_FROM_PRIMITIVE_LIST = "$deleteFromPrimitiveList"
LIST_PREFIXES = (SET_ELEMENT_ORDER, DELETE_FROM_PRIMITIVE_LIST)

BAD_PRIMITIVE_LIST = "invalid patch format of primitive list"
BAD_RETAIN_KEYS = "invalid patch format of retainKeys"
BAD_SET_ELEMENT_ORDER = "invalid patch format of setElementOrder list"

DROP = object()  # what `clean` returns for a value that must not land at all


def list_field(key: str, prefix: str) -> str:
    """The list a `<prefix>/<list>` directive names; BadRequest if malformed."""
    head, sep, field = key.partition("/")
    if not sep or head != prefix:
        raise errors.BadRequest(
            BAD_PRIMITIVE_LIST if prefix == DELETE_FROM_PRIMITIVE_LIST else BAD_SET_ELEMENT_ORDER)
    return field


def is_directive_key(key: str) -> bool:
    return key == RETAIN_KEYS or key.startswith(LIST_PREFIXES)


def put(out: dict[str, Any], key: str, value: Any) -> None:
    """Set `out[key]`, or remove it when `value` is DROP."""
    if value is DROP:
        out.pop(key, None)
    else:
        out[key] = value


def clean(value: Any) -> Any:
    """A patch value as it lands in an object: no null members, no directives.

    The apiserver gets the same effect by decoding the merged map into a typed object.
    Maps carrying `$patch` vanish (DROP for a top-level one); other directive members
    are dropped. Returns `value` itself when nothing changes.
    """
    if isinstance(value, dict):
        if PATCH in value:
            return DROP
        out = None
        for key, member in value.items():
            new = DROP if member is None or is_directive_key(key) else clean(member)
            if new is not member:
                out = dict(value) if out is None else out
                put(out, key, new)
        return value if out is None else out
    if isinstance(value, list):
        items = [clean(item) for item in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return [item for item in items if item is not DROP]
    return value
