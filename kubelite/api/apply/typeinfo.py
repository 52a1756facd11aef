"""How server-side apply sees a JSON schema: structs, maps, lists and their merge types.

A `Shape` wraps one resolved schema node. Structs have named fields (properties); maps have
free keys (additionalProperties); lists are atomic, sets (`v:` items) or maps keyed by their
list-map keys (`k:` items). With no usable schema a node is *deduced* from the value as
upstream does for untyped data: objects are granular maps of free keys, lists atomic.
Built-in list types missing `x-kubernetes-list-type` fall back to their strategic-merge
patch strategy (merge + merge key -> map, merge alone -> set), otherwise atomic.
Shapes are cached per schema object; schemas are long-lived shared data.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import schemas
from kubelite.api.apply import fieldset

STRUCT, MAP, LIST, SCALAR, DEDUCED = "struct", "map", "list", "scalar", "deduced"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
# Key fields upstream defaults through the OpenAPI `default` the bundled schemas lack.
_KEY_DEFAULTS = {"protocol": "TCP"}


class ListItemError(ValueError):
    """A list item that cannot be named (no key fields, null, a map in a set ...)."""


class Shape:
    """The merge-relevant facts of one schema node."""

    __slots__ = ("_elem", "_fields", "_meta", "_schema", "atomic", "keys", "kind", "list_type",
                 "required")

    def __init__(self, schema: dict[str, Any] | None, *, meta_override: bool = False) -> None:
        self._schema = schema or {}
        self._fields: dict[str, Shape | None] = {}
        self._elem: Shape | None = None
        self._meta = meta_override
        self.list_type = ""
        self.keys: list[str] = []
        self.kind, self.atomic = _classify(self._schema)
        # Bundled built-in schemas mark optional fields nullable; a plain type means a
        # field Go always serialises (`containers`), present as null when unset.
        self.required = isinstance(self._schema.get("type"), str)
        if self.kind == LIST:
            self.list_type, self.keys = _list_type(self._schema)
            self.atomic = self.list_type == "atomic"

    def field(self, name: str) -> tuple[Shape, bool]:
        """The shape of a child and whether it is a named (declared) field."""
        if self.kind != STRUCT:
            return self.elem(), False
        if name not in self._fields:
            sub = (self._schema.get("properties") or {}).get(name)
            if sub is None:
                self._fields[name] = None
            elif name == "metadata" and self._meta and not _is_struct(_resolve(sub)):
                self._fields[name] = shape(schemas.definition(OBJECT_META))
            else:
                self._fields[name] = shape(_resolve(sub))
        child = self._fields[name]
        return (child, True) if child is not None else (self.elem(), False)

    def elem(self) -> Shape:
        """Map values, list items, or the undeclared keys of a struct."""
        if self._elem is None:
            key = "items" if self.kind == LIST else "additionalProperties"
            sub = self._schema.get(key)
            self._elem = shape(_resolve(sub)) if isinstance(sub, dict) else DEDUCED_SHAPE
        return self._elem

    def form(self, value: Any) -> str:
        """How a value is walked here: "map", "list" or "leaf" (scalars, atomics, mismatches)."""
        if isinstance(value, dict):
            granular = self.kind in (STRUCT, MAP, DEDUCED) and not self.atomic
            return "map" if granular else "leaf"
        if isinstance(value, list):
            return "list" if self.kind == LIST and not self.atomic else "leaf"
        return "leaf"

    def item_element(self, item: Any, i: int) -> fieldset.PathElement:
        """The path element naming one item of this granular list."""
        if self.list_type == "set":
            if item is None or isinstance(item, (dict, list)):
                raise ListItemError(_SET_ERRORS[type(item)])
            return fieldset.value(item)
        if self.keys:
            return fieldset.key(self._key_fields(item))
        return fieldset.index(i)

    def _key_fields(self, item: Any) -> dict[str, Any]:
        if item is None:
            raise ListItemError("associative list with keys may not have a null element")
        if not isinstance(item, dict):
            raise ListItemError("associative list with keys may not have non-map elements")
        out: dict[str, Any] = {}
        item_shape = self.elem()
        for name in self.keys:
            if name in item:
                out[name] = item[name]
            else:
                default = item_shape.default_of(name)
                if default is not None:
                    out[name] = default
        if not out:
            listed = "[" + " ".join(f'"{k}"' for k in self.keys) + "]"
            raise ListItemError(
                f"associative list with keys has an element that omits all key fields {listed} "
                "(and doesn't have default values for any key fields)")
        return out

    def default_of(self, name: str) -> Any:
        sub = (self._schema.get("properties") or {}).get(name)
        if isinstance(sub, dict) and "default" in sub:
            return sub["default"]
        return _KEY_DEFAULTS.get(name) if sub is not None else None


_SET_ERRORS = {
    dict: "associative list without keys has an element that's a map type",
    list: "not supported: associative list with lists as elements",
    type(None): "associative list without keys has an element that's an explicit null",
}


def _resolve(sub: dict[str, Any]) -> dict[str, Any]:
    """Follow `$ref`, keeping merge extensions written beside it (memoized: stable ids)."""
    hit = _resolved.get(id(sub))
    if hit is not None and hit[0] is sub:
        return hit[1]
    target = schemas.resolve(sub)
    extra = {k: v for k, v in sub.items() if k.startswith("x-kubernetes-") and k not in target}
    out = {**target, **extra} if target is not sub and extra else target
    _resolved[id(sub)] = (sub, out)
    return out


def _is_struct(schema: dict[str, Any]) -> bool:
    return bool(schema.get("properties"))


def _classify(schema: dict[str, Any]) -> tuple[str, bool]:
    atomic_map = schema.get("x-kubernetes-map-type") == "atomic"
    if schema.get("x-kubernetes-int-or-string"):
        return SCALAR, True
    types = schemas.types_of(schema)
    if schema.get("properties"):
        return STRUCT, atomic_map
    if isinstance(schema.get("additionalProperties"), dict):
        return MAP, atomic_map
    if "array" in types or "items" in schema:
        return LIST, False
    if "object" in types:
        return DEDUCED, atomic_map
    if types:
        return SCALAR, True
    return DEDUCED, False


def _list_type(schema: dict[str, Any]) -> tuple[str, list[str]]:
    declared = schema.get("x-kubernetes-list-type")
    merge_key = schema.get("x-kubernetes-patch-merge-key")
    if declared == "map":
        keys = schema.get("x-kubernetes-list-map-keys") or ([merge_key] if merge_key else [])
        return "map", list(keys)
    if declared in ("set", "atomic"):
        return declared, []
    if "merge" in str(schema.get("x-kubernetes-patch-strategy", "")).split(","):
        return ("map", [merge_key]) if merge_key else ("set", [])
    return "atomic", []


_cache: dict[int, tuple[dict[str, Any], Shape]] = {}
_resolved: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}
_roots: dict[int, tuple[dict[str, Any], Shape]] = {}
DEDUCED_SHAPE = Shape(None)
_UNTYPED_ROOT = Shape({"properties": {"metadata": {"type": "object"}}}, meta_override=True)


def shape(schema: dict[str, Any]) -> Shape:
    """The (cached) shape of a resolved schema node."""
    hit = _cache.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    if len(_cache) > 20000:
        _cache.clear()
        _resolved.clear()
    made = Shape(schema)
    _cache[id(schema)] = (schema, made)
    return made


def root(schema: dict[str, Any] | None) -> Shape:
    """The shape of a whole object: its metadata is always ObjectMeta, as upstream."""
    if not schema:
        return _UNTYPED_ROOT
    hit = _roots.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    if len(_roots) > 1000:
        _roots.clear()
    made = Shape(_resolve(schema), meta_override=True)
    _roots[id(schema)] = (schema, made)
    return made


def is_builtin(schema: dict[str, Any] | None) -> bool:
    """Built-in (Go-typed) kinds carry their group/version/kind in the schema."""
    return bool(schema) and "x-kubernetes-group-version-kind" in schemas.resolve(schema or {})
