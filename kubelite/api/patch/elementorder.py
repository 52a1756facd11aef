"""The order of a merged list in a strategic merge patch.

Upstream's rule, kept exactly because clients see it: the elements named by the patch
(or by its `$setElementOrder` list) keep the patch's relative order; the server-only
elements keep their live relative order; the two runs are interleaved by the live order
where both elements already existed, and otherwise a patch element goes first. So an
element new to the list lands before the server-only elements that follow its
position, and with no `$setElementOrder` a brand-new element is put in front.

Elements are compared by merge key value (maps) or by value (primitives), with JSON
types kept distinct (true is not 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson


def identity(item: Any, merge_key: str) -> Any:
    """A hashable stand-in for what identifies `item` in its list."""
    value = item.get(merge_key) if merge_key and isinstance(item, dict) else item
    if isinstance(value, (dict, list)):
        return ("json", orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    return (type(value), value)


def positions(items: list[Any], merge_key: str) -> dict[Any, int]:
    """First position of each identity in `items`."""
    found: dict[Any, int] = {}
    for i, item in enumerate(items):
        found.setdefault(identity(item, merge_key), i)
    return found


def partition(merged: list[Any], named: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    """Split `merged` into the elements `named` mentions and the server-only rest."""
    wanted = {identity(item, merge_key) for item in named}
    inside: list[Any] = []
    outside: list[Any] = []
    for item in merged:
        (inside if identity(item, merge_key) in wanted else outside).append(item)
    return inside, outside


def normalize(patch_items: list[Any], server_only: list[Any], patch_order: list[Any],
              server_order: list[Any], merge_key: str, *,
              check: Callable[[list[Any]], None] | None = None) -> list[Any]:
    """The final list: both runs sorted by their own order, then interleaved.

    `check` validates each list before sorting (merge keys present, maps only).
    """
    patch_items = _sorted(patch_items, patch_order, merge_key, check)
    server_only = _sorted(server_only, server_order, merge_key, check)
    return _interleave(server_only, patch_items, positions(server_order, merge_key), merge_key)


def _sorted(items: list[Any], order: list[Any], merge_key: str,
            check: Callable[[list[Any]], None] | None) -> list[Any]:
    deleted: list[Any] = []
    if check is not None:
        check(items)
        check(order)
        deleted = [i for i in items if i.get("$patch") == "delete"]
        items = [i for i in items if i.get("$patch") != "delete"]
    rank = positions(order, merge_key)
    end = len(order)
    items = sorted(items, key=lambda item: rank.get(identity(item, merge_key), end))
    return items + deleted


def _interleave(left: list[Any], right: list[Any], live: dict[Any, int],
                merge_key: str) -> list[Any]:
    """Merge server-only `left` into patch `right`, keeping each run's order."""
    out: list[Any] = []
    i = j = 0
    while i < len(left) and j < len(right):
        li = live.get(identity(left[i], merge_key))
        ri = live.get(identity(right[j], merge_key))
        if li is not None and ri is not None and li < ri:
            out.append(left[i])
            i += 1
        else:
            out.append(right[j])
            j += 1
    out.extend(left[i:])
    out.extend(right[j:])
    return out
