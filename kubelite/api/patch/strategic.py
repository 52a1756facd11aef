"""Kubernetes strategic merge patch (`application/strategic-merge-patch+json`).

Like a JSON merge patch (maps merge recursively, null deletes a key), except that the
schema says how each list merges: `x-kubernetes-patch-strategy: merge` lists of maps
merge element by element on `x-kubernetes-patch-merge-key`, merge lists of primitives
are unioned, every other list is replaced. Directives (from kubectl and other clients):

- `$patch: replace` on a map replaces it whole; `$patch: delete` empties it. In a merge
  list, an element `{"$patch": "delete", <key>: v}` removes the elements keyed v and
  `{"$patch": "replace"}` makes the other elements the whole list. `$patch: merge` is
  rejected, as upstream does.
- `$setElementOrder/<list>`: the order of the patched elements (kubectl apply sends it).
- `$retainKeys: [...]`: the map keeps only these keys (union fields such as a
  Deployment's strategy or a volume source).
- `$deleteFromPrimitiveList/<list>`: values to remove from a primitive list.

Fields the schema does not describe (and every field when `schema` is None) merge maps
recursively and replace lists. Upstream refuses strategic patches for custom resources
(415); deciding that is the caller's job. The element order of merged lists follows
upstream exactly (see elementorder). Inputs are never mutated; maps on the touched
paths are copied, everything else is shared with the inputs.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import errors, schemas
from kubelite.api import patch as patch_errors
from kubelite.api.patch import directives, elementorder, gotext, patchmeta

NO_LIST_OF_LISTS = "lists of lists are not supported"

_MISSING = object()


def apply(doc: dict[str, Any], patch: Any, schema: dict[str, Any] | None) -> dict[str, Any]:
    """`doc` with the strategic merge `patch` applied, using the object's top-level schema."""
    if patch is None:  # a JSON null body decodes to an empty patch upstream
        return dict(doc)
    if not isinstance(patch, dict):
        kind = {list: "array", str: "string", bool: "bool"}.get(type(patch), "number")
        raise errors.BadRequest(
            f"json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
    return _merge_map(doc, patch, schemas.resolve(schema) if schema is not None else None)


# ---- maps -------------------------------------------------------------------------------

def _merge_map(original: dict[str, Any] | None, patch: dict[str, Any],
               schema: dict[str, Any] | None) -> dict[str, Any]:
    if directives.PATCH in patch:
        return _map_directive(patch)
    out = dict(original) if original else {}
    if directives.RETAIN_KEYS in patch:
        _retain_keys(out, patch)
    done = _apply_element_orders(out, patch, schema)
    deletions = []
    for key, value in patch.items():
        if key in done or key == directives.RETAIN_KEYS or key.startswith(directives.SET_ELEMENT_ORDER):
            continue
        if key.startswith(directives.DELETE_FROM_PRIMITIVE_LIST):
            deletions.append((directives.list_field(key, directives.DELETE_FROM_PRIMITIVE_LIST), value))
        else:
            _merge_field(out, key, value, schema, deleting=False)
    for key, value in deletions:
        _merge_field(out, key, value, schema, deleting=True)
    return out


def _map_directive(patch: dict[str, Any]) -> dict[str, Any]:
    directive = patch[directives.PATCH]
    if directive == "replace":
        kept = directives.clean({k: v for k, v in patch.items() if k != directives.PATCH})
        return kept
    if directive == "delete":
        return {}
    raise patch_errors.Failed(
        f"unknown patch type: {gotext.go_format(directive)} in map: {gotext.go_format(patch)}")


def _merge_field(out: dict[str, Any], key: str, value: Any, schema: dict[str, Any] | None,
                 *, deleting: bool) -> None:
    """Merge one patch member into `out` (a `$deleteFromPrimitiveList` one if `deleting`)."""
    if value is None:
        out.pop(key, None)
        return
    current = out.get(key, _MISSING)
    if current is _MISSING or type(current) is not type(value):
        if not deleting:
            directives.put(out, key, directives.clean(value))
        return
    if isinstance(value, dict):
        sub, strategy, _ = patchmeta.field_meta(schema, key)
        out[key] = directives.clean(value) if strategy == "replace" else _merge_map(current, value, sub)
    elif isinstance(value, list):
        sub, strategy, merge_key = patchmeta.field_meta(schema, key)
        out[key] = _merge_list_field(current, value, sub, strategy, merge_key, deleting)
    else:
        out[key] = value


def _retain_keys(out: dict[str, Any], patch: dict[str, Any]) -> None:
    """Apply `$retainKeys`: drop every key of `out` not listed; patch keys must be listed."""
    listed = patch[directives.RETAIN_KEYS]
    if not isinstance(listed, list):
        raise errors.BadRequest(directives.BAD_RETAIN_KEYS)
    keep = {k for k in listed if isinstance(k, str)}
    for key, value in patch.items():
        if value is None or key == directives.RETAIN_KEYS or key.startswith(directives.LIST_PREFIXES):
            continue
        if key not in keep:
            raise errors.BadRequest(directives.BAD_RETAIN_KEYS)
    for key in [k for k in out if k not in keep]:
        del out[key]


# ---- $setElementOrder ---------------------------------------------------------------------

def _apply_element_orders(out: dict[str, Any], patch: dict[str, Any],
                          schema: dict[str, Any] | None) -> set[str]:
    """Merge every list that has a `$setElementOrder` and order it; returns their names."""
    done: set[str] = set()
    for key, order in patch.items():
        if not key.startswith(directives.SET_ELEMENT_ORDER):
            continue
        field = directives.list_field(key, directives.SET_ELEMENT_ORDER)
        gotext.expect_list(order)
        current = out.get(field, _MISSING)
        value = patch.get(field, _MISSING)
        if current is _MISSING and value is _MISSING:
            continue
        live = [] if current is _MISSING else gotext.expect_list(current)
        patched = [] if value is _MISSING else gotext.expect_list(value)
        sub, strategy, merge_key = patchmeta.field_meta(schema, field)
        _check_order(patched, order, merge_key)
        if value is _MISSING:
            merged = live
        elif current is _MISSING:
            merged = directives.clean(patched)
        else:
            merged = _merge_list_field(live, patched, sub, strategy, merge_key, False)
        inside, outside = _partition(merged, order, merge_key)
        is_map = element_kind(live, patched) is dict
        out[field] = elementorder.normalize(
            inside, outside, order, live, merge_key, check=_keys_checker(merge_key) if is_map else None)
        done.add(field)
    return done


def _check_order(patched: list[Any], order: list[Any], merge_key: str) -> None:
    """Every patch element must appear in `$setElementOrder`, in the same relative order."""
    if not patched or not order:
        return
    items = patched
    if merge_key:  # deletions need not appear in the order list
        items = [i for i in patched if gotext.expect_map(i).get(directives.PATCH) != "delete"]
    pi = oi = 0
    while pi < len(items) and oi < len(order):
        if isinstance(items[pi], dict) and directives.PATCH in items[pi]:
            pi += 1
            continue
        if _same_key(items[pi], order[oi], merge_key):
            pi += 1
        oi += 1
    if pi < len(items):
        raise patch_errors.Failed(
            f"The order in patch list:\n{gotext.go_format(patched)}\n doesn't match "
            f"{directives.SET_ELEMENT_ORDER} list:\n{gotext.go_format(order)}\n")


def _same_key(left: Any, right: Any, merge_key: str) -> bool:
    if not merge_key:
        return bool(elementorder.identity(left, "") == elementorder.identity(right, ""))
    a, b = gotext.expect_map(left), gotext.expect_map(right)
    if merge_key not in a:
        raise gotext.no_merge_key(a, merge_key)
    if merge_key not in b:
        raise gotext.no_merge_key(b, merge_key)
    return bool(elementorder.identity(a, merge_key) == elementorder.identity(b, merge_key))


# ---- lists ------------------------------------------------------------------------------

def _merge_list_field(current: list[Any], value: list[Any], sub: dict[str, Any] | None,
                      strategy: str, merge_key: str, deleting: bool) -> list[Any]:
    if strategy != "merge" and not deleting:
        return directives.clean(value)
    return _merge_list(current, value, patchmeta.items_schema(sub), merge_key, deleting)


def _merge_list(original: list[Any], patch: list[Any], item_schema: dict[str, Any] | None,
                merge_key: str, deleting: bool) -> list[Any]:
    if not original and not patch:
        return original
    if element_kind(original, patch) is not dict:
        if deleting:
            gone = {elementorder.identity(v, "") for v in patch}
            return [v for v in original if elementorder.identity(v, "") not in gone]
        merged = _union(original, patch)
        inside, outside = elementorder.partition(merged, patch, "")
        return elementorder.normalize(inside, outside, patch, original, "")
    if not merge_key:
        raise patch_errors.Failed("cannot merge lists without merge key for struct")
    original, patch = _special_elements(original, patch, merge_key)
    merged = _merge_elements(original, patch, merge_key, item_schema)
    inside, outside = _partition(merged, patch, merge_key)
    return elementorder.normalize(inside, outside, patch, original, merge_key,
                                  check=_keys_checker(merge_key))


def _union(original: list[Any], patch: list[Any]) -> list[Any]:
    seen: set[Any] = set()
    merged = []
    for value in original + patch:
        ident = elementorder.identity(value, "")
        if ident not in seen:
            seen.add(ident)
            merged.append(value)
    return merged


def _special_elements(original: list[Any], patch: list[Any],
                      merge_key: str) -> tuple[list[Any], list[Any]]:
    """Apply the `$patch` elements of a merge list; returns (original, plain patch elements)."""
    plain: list[Any] = []
    replace = False
    for item in patch:
        if directives.PATCH not in item:
            plain.append(item)
            continue
        directive = item[directives.PATCH]
        if directive == "delete":
            if merge_key not in item:
                raise gotext.no_merge_key(item, merge_key)
            gone = elementorder.identity(item, merge_key)
            original = [o for o in original
                        if merge_key not in o or elementorder.identity(o, merge_key) != gone]
        elif directive == "replace":
            replace = True
        elif directive == "merge":
            raise patch_errors.Failed("merging lists cannot yet be specified in the patch")
        else:
            raise patch_errors.Failed(
                f"unknown patch type: {gotext.go_format(directive)} in map: {gotext.go_format(item)}")
    if replace:
        return directives.clean(plain), []
    return original, plain


def _merge_elements(original: list[Any], patch: list[Any], merge_key: str,
                    item_schema: dict[str, Any] | None) -> list[Any]:
    """Merge each patch element into the element with its key, or append it."""
    out = list(original)
    where = {elementorder.identity(o, merge_key): i for i, o in reversed(list(enumerate(out)))
             if merge_key in o}
    for item in patch:
        if merge_key not in item:
            raise gotext.no_merge_key(item, merge_key)
        ident = elementorder.identity(item, merge_key)
        index = where.get(ident)
        if index is None:
            where[ident] = len(out)
            out.append(directives.clean(item))
        else:
            out[index] = _merge_map(out[index], item, item_schema)
    return out


def _partition(merged: list[Any], named: list[Any], merge_key: str) -> tuple[list[Any], list[Any]]:
    if merge_key:
        for item in merged:
            if merge_key not in gotext.expect_map(item):
                raise gotext.no_merge_key(item, merge_key)
        for item in named:
            gotext.expect_map(item)
    return elementorder.partition(merged, named, merge_key)


def _keys_checker(merge_key: str) -> Any:
    def check(items: list[Any]) -> None:
        for item in items:
            if merge_key not in gotext.expect_map(item):
                raise gotext.no_merge_key(item, merge_key)
    return check


def element_kind(*lists: list[Any]) -> type:
    """The one JSON type of every element of `lists`; lists of lists are refused."""
    kind: type | None = None
    for items in lists:
        for item in items:
            if kind is None:
                kind = type(item)
                if kind is list:
                    raise patch_errors.Unprocessable(NO_LIST_OF_LISTS)
            elif type(item) is not kind:
                raise patch_errors.Failed(
                    f"list element types are not identical: {gotext.go_format(list(lists))}")
    if kind is None:
        raise patch_errors.Failed("no elements in any of the given slices")
    return kind
