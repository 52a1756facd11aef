"""Reading field sets out of objects: what a value sets, and what changed between two values.

`to_field_set` is what an applier owns for a configuration (leaves, atomic values, list items,
free map keys, nulls and empty objects). `compare` reports added, modified and removed paths
between an old and a new object the way upstream does for ordinary updates: a container that
appears or disappears is reported itself too, so new maps and list items carry `.` ownership.

Built-in kinds are Go structs upstream, where value-typed fields such as `spec` or `template`
always exist (as `{}`) and required lists such as `containers` exist (as null);
`compare(..., builtin=True)` treats those fields as present so they are not reported as
added, which keeps `f:spec` and `f:containers` free of a `.` entry exactly like upstream.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubelite.api.apply import fieldset, typeinfo

MISSING: Any = object()
# Fields that are value (not pointer) structs in the upstream Go types.
_VALUE_STRUCTS = frozenset({"metadata", "spec", "status", "template", "strategy",
                            "updateStrategy", "jobTemplate", "resources"})


@dataclass
class Comparison:
    added: fieldset.FieldSet = field(default_factory=set)
    modified: fieldset.FieldSet = field(default_factory=set)
    removed: fieldset.FieldSet = field(default_factory=set)

    def filtered(self, keep: Any) -> Comparison:
        return Comparison(keep(self.added), keep(self.modified), keep(self.removed))


def item_element(shape: typeinfo.Shape, item: Any, i: int, path: fieldset.Path) -> fieldset.PathElement:
    """The element naming a list item; errors carry the list's path like upstream's."""
    try:
        return shape.item_element(item, i)
    except typeinfo.ListItemError as err:
        raise typeinfo.ListItemError(f"{fieldset.path_string(path)}: element {i}: {err}") from None


def to_field_set(obj: Any, shape: typeinfo.Shape) -> fieldset.FieldSet:
    """The paths a configuration sets."""
    out: fieldset.FieldSet = set()
    _collect(obj, shape, (), out)
    return out


def _collect(v: Any, shape: typeinfo.Shape, path: fieldset.Path, out: fieldset.FieldSet) -> None:
    form = shape.form(v)
    if form == "leaf":
        out.add(path)
    elif form == "map":
        for k, child_value in v.items():
            child, named = shape.field(k)
            p = path + (fieldset.field(k),)
            _collect(child_value, child, p, out)
            if child_value is None or child_value == {} or not named:
                out.add(p)
    else:
        _collect_items(v, shape, path, out)


def _collect_items(items: list[Any], shape: typeinfo.Shape, path: fieldset.Path,
                   out: fieldset.FieldSet) -> None:
    pes = [item_element(shape, item, i, path) for i, item in enumerate(items)]
    counts: dict[fieldset.PathElement, int] = {}
    for pe in pes:
        counts[pe] = counts.get(pe, 0) + 1
    for pe, item in zip(pes, items):
        p = path + (pe,)
        if counts[pe] == 1:
            _collect(item, shape.elem(), p, out)
        out.add(p)


def compare(old: Any, new: Any, shape: typeinfo.Shape, *, builtin: bool = False) -> Comparison:
    """What changed from `old` to `new` (MISSING for an absent side)."""
    cmp = Comparison()
    _Comparer(cmp, builtin).node(old, new, shape, ())
    return cmp


def _empty(v: Any) -> bool:
    return v is MISSING or v is None or v == {} or v == []


class _Comparer:
    def __init__(self, cmp: Comparison, builtin: bool) -> None:
        self.cmp = cmp
        self.builtin = builtin

    def node(self, old: Any, new: Any, shape: typeinfo.Shape, path: fieldset.Path) -> None:
        form = shape.form(new if new is not MISSING else old)
        if form != "leaf" and not (_empty(old) and _empty(new)) and self._same_form(old, new, form):
            if form == "map":
                self.maps(old, new, shape, path)
            else:
                self.lists(old, new, shape, path)
            if old is MISSING:
                self.cmp.added.add(path)
            elif new is MISSING:
                self.cmp.removed.add(path)
        elif old is MISSING:
            self.cmp.added.add(path)
        elif new is MISSING:
            self.cmp.removed.add(path)
        elif old != new or type(old) is not type(new) and (isinstance(old, bool) or isinstance(new, bool)):
            self.cmp.modified.add(path)

    def _implicit(self, k: str, child: typeinfo.Shape, named: bool) -> Any:
        """What an unset field reads as in a Go-typed object: {}, None, or MISSING."""
        if not (self.builtin and named):
            return MISSING
        if k in _VALUE_STRUCTS and child.kind == typeinfo.STRUCT:
            return {}
        if child.required and child.kind in (typeinfo.LIST, typeinfo.MAP):
            return None
        return MISSING

    @staticmethod
    def _same_form(old: Any, new: Any, form: str) -> bool:
        kind = dict if form == "map" else list
        return all(v is MISSING or v is None or isinstance(v, kind) for v in (old, new))

    def maps(self, old: Any, new: Any, shape: typeinfo.Shape, path: fieldset.Path) -> None:
        lhs = old if isinstance(old, dict) else None
        rhs = new if isinstance(new, dict) else None
        keys = dict.fromkeys([*(lhs or {}), *(rhs or {})])
        for k in keys:
            child, named = shape.field(k)
            implicit = self._implicit(k, child, named)
            lv = _child(lhs, k, implicit)
            rv = _child(rhs, k, implicit)
            self.node(lv, rv, child, path + (fieldset.field(k),))

    def lists(self, old: Any, new: Any, shape: typeinfo.Shape, path: fieldset.Path) -> None:
        lhs = _index(old, shape, path)
        rhs = _index(new, shape, path)
        elem = shape.elem()
        for pe in dict.fromkeys([*lhs, *rhs]):
            self.node(lhs.get(pe, MISSING), rhs.get(pe, MISSING), elem, path + (pe,))


def _child(parent: dict[str, Any] | None, k: str, implicit: Any) -> Any:
    if parent is None:
        return MISSING
    v = parent.get(k, MISSING)
    if implicit is MISSING or not (v is MISSING or v is None):
        return v
    return implicit if v is MISSING or implicit == {} else v


def _index(items: Any, shape: typeinfo.Shape, path: fieldset.Path) -> dict[fieldset.PathElement, Any]:
    out: dict[fieldset.PathElement, Any] = {}
    if isinstance(items, list):
        for i, item in enumerate(items):
            out.setdefault(item_element(shape, item, i, path), item)
    return out


def ensure_named(paths: fieldset.FieldSet, shape: typeinfo.Shape) -> fieldset.FieldSet:
    """The set plus every declared struct field on the way to its paths (upstream's
    EnsureNamedFieldsAreMembers): owning `.spec.strategy.type` also owns `.spec.strategy`."""
    out = set(paths)
    shapes: dict[fieldset.Path, typeinfo.Shape] = {(): shape}
    for path in paths:
        for i in range(1, len(path)):
            prefix = path[:i]
            parent = shapes[path[: i - 1]]
            if prefix not in shapes:
                shapes[prefix] = _step(parent, prefix[-1], out, prefix)
    return out


def _step(parent: typeinfo.Shape, pe: fieldset.PathElement, out: fieldset.FieldSet,
          prefix: fieldset.Path) -> typeinfo.Shape:
    if pe[0] == "f":
        child, named = parent.field(pe[1])
        if named:
            out.add(prefix)
        return child
    return parent.elem()
