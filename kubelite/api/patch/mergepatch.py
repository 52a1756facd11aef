"""RFC 7386 JSON merge patch, as the apiserver applies `application/merge-patch+json`.

A null in the patch deletes the key; objects merge recursively; anything else (lists
included) replaces the old value. Nulls nested in inserted values are dropped, except
where an object is replaced by a non-object, which upstream's library keeps verbatim.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import errors

BAD_PATCH_MESSAGE = "Invalid JSON Patch"


def apply(doc: dict[str, Any], patch: Any) -> dict[str, Any]:
    """The document with `patch` merged in; `doc` and `patch` are left untouched."""
    if not isinstance(patch, dict):
        raise errors.BadRequest(BAD_PATCH_MESSAGE)
    return _merge(doc, patch)


def _merge(doc: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = dict(doc)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
            continue
        current = out.get(key)
        if isinstance(current, dict):
            out[key] = _merge(current, value) if isinstance(value, dict) else value
        else:
            out[key] = prune_nulls(value)
    return out


def prune_nulls(value: Any) -> Any:
    """`value` without null object members, at any depth (null list elements stay).

    Returns `value` itself when there is nothing to drop.
    """
    if isinstance(value, dict):
        pruned = None
        for key, member in value.items():
            new = _DROP if member is None else prune_nulls(member)
            if new is not member:
                pruned = dict(value) if pruned is None else pruned
                if new is _DROP:
                    del pruned[key]
                else:
                    pruned[key] = new
        return value if pruned is None else pruned
    if isinstance(value, list):
        items = [prune_nulls(item) for item in value]
        return value if all(a is b for a, b in zip(items, value)) else items
    return value


_DROP = object()
