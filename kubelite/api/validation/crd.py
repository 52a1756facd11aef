"""Custom resources against their CRD's structural schema: validation, pruning, defaulting.

Schemas are walked as the plain dicts the CRD carries (no compile step: they hold no
references). Messages follow the apiextensions server: `<path> in body must be of type
integer: "string"` and friends, each as a field cause of a 422.
"""

from __future__ import annotations

import copy
import functools
import re
from typing import Any

from kubelite.api import errors, registry
from kubelite.api.validation import field, formats, schema

Obj = dict[str, Any]
_ROOT_KEEP = ("apiVersion", "kind", "metadata")

_KIND_NAMES: dict[type, str] = {str: "string", dict: "object", list: "array"}


def root_schema(rt: registry.ResourceType) -> Obj:
    return ((rt.crd or {}).get("openAPIV3Schema")) or {}


def _preserves(rt: registry.ResourceType) -> bool:
    return bool((rt.crd or {}).get("preserveUnknownFields"))


def validate(rt: registry.ResourceType, obj: Obj) -> list[errors.Cause]:
    """Every schema cause of a custom resource (metadata is checked elsewhere)."""
    causes: list[errors.Cause] = []
    root = root_schema(rt)
    props = root.get("properties") or {}
    for k, v in obj.items():
        if k in _ROOT_KEEP:
            continue
        sub = props.get(k)
        if sub is not None:
            _value(sub, v, k, causes)
        elif isinstance(root.get("additionalProperties"), dict):
            _value(root["additionalProperties"], v, k, causes)
    for r in root.get("required") or ():
        if r not in obj and r not in _ROOT_KEEP:
            causes.append(field.required(r))
    return causes


def _observed(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return _KIND_NAMES.get(type(value), "unknown")


def _type_ok(want: str, value: Any) -> bool:
    seen = _observed(value)
    return seen == want or (want == "number" and seen == "integer")


def _value(s: Obj, value: Any, path: str, out: list[errors.Cause]) -> None:
    if value is None:
        if not s.get("nullable") and s.get("type"):
            out.append(_type_error(path, s["type"], value))
        return
    if s.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            out.append(_type_error(path, "integer,string", value))
            return
    elif s.get("type") and not _type_ok(s["type"], value):
        out.append(_type_error(path, s["type"], value))
        return
    if "enum" in s and value not in s["enum"]:
        out.append(field.not_supported(path, value, [_plain(e) for e in s["enum"]]))
    if isinstance(value, str):
        _string(s, value, path, out)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _number(s, value, path, out)
    elif isinstance(value, list):
        _array(s, value, path, out)
    elif isinstance(value, dict):
        _object(s, value, path, out)


def _type_error(path: str, want: str, value: Any) -> errors.Cause:
    seen = _observed(value)
    return field.type_invalid(path, seen, f'{path} in body must be of type {want}: "{seen}"')


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else field.show(value)


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


@functools.lru_cache(maxsize=1024)
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _string(s: Obj, value: str, path: str, out: list[errors.Cause]) -> None:
    if "maxLength" in s and len(value) > s["maxLength"]:
        out.append(field.too_long(path, s["maxLength"]))
    if "minLength" in s and len(value) < s["minLength"]:
        out.append(field.invalid(path, value,
                                 f"{path} in body should be at least {s['minLength']} chars long"))
    if "pattern" in s and not _pattern(s["pattern"]).search(value):
        out.append(field.invalid(path, value, f"{path} in body should match '{s['pattern']}'"))
    fmt = s.get("format")
    if fmt and not formats.valid(fmt, value):
        out.append(field.invalid(path, value, f'{path} in body must be of type {fmt}: "{value}"'))


def _number(s: Obj, value: float, path: str, out: list[errors.Cause]) -> None:
    low, high = s.get("minimum"), s.get("maximum")
    if low is not None:
        if s.get("exclusiveMinimum") and value <= low:
            out.append(field.invalid(path, value, f"{path} in body should be greater than {_num(low)}"))
        elif value < low:
            out.append(field.invalid(path, value, f"{path} in body should be greater than or "
                                                  f"equal to {_num(low)}"))
    if high is not None:
        if s.get("exclusiveMaximum") and value >= high:
            out.append(field.invalid(path, value, f"{path} in body should be less than {_num(high)}"))
        elif value > high:
            out.append(field.invalid(path, value, f"{path} in body should be less than or "
                                                  f"equal to {_num(high)}"))
    step = s.get("multipleOf")
    if step and (value / step) != int(value / step):
        out.append(field.invalid(path, value, f"{path} in body should be a multiple of {_num(step)}"))


def _array(s: Obj, value: list[Any], path: str, out: list[errors.Cause]) -> None:
    if "maxItems" in s and len(value) > s["maxItems"]:
        out.append(field.too_many(path, len(value), s["maxItems"]))
    if "minItems" in s and len(value) < s["minItems"]:
        out.append(field.invalid(path, len(value),
                                 f"{path} in body should have at least {s['minItems']} items"))
    items = s.get("items")
    if isinstance(items, dict):
        for i, v in enumerate(value):
            _value(items, v, field.index(path, i), out)
    _list_type(s, value, path, out)


def _list_type(s: Obj, value: list[Any], path: str, out: list[errors.Cause]) -> None:
    kind = s.get("x-kubernetes-list-type")
    if kind == "map":
        keys = s.get("x-kubernetes-list-map-keys") or []
        seen_keys: list[Any] = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                k = {key: item.get(key) for key in keys}
                if k in seen_keys:
                    out.append(field.duplicate(field.index(path, i), k))
                seen_keys.append(k)
    elif kind == "set" or s.get("uniqueItems"):
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                out.append(field.duplicate(field.index(path, i), item))
            seen.append(item)


def _object(s: Obj, value: Obj, path: str, out: list[errors.Cause]) -> None:
    if s.get("x-kubernetes-embedded-resource"):
        for attr in ("apiVersion", "kind"):
            if not value.get(attr):
                out.append(field.required(field.join(path, attr)))
    for r in s.get("required") or ():
        if r not in value:
            out.append(field.required(field.join(path, r)))
    if "maxProperties" in s and len(value) > s["maxProperties"]:
        out.append(field.too_many(path, len(value), s["maxProperties"]))
    if "minProperties" in s and len(value) < s["minProperties"]:
        out.append(field.invalid(path, len(value), f"{path} in body should have at least "
                                                   f"{s['minProperties']} properties"))
    props = s.get("properties") or {}
    extra = s.get("additionalProperties")
    for k, v in value.items():
        sub = props.get(k)
        if sub is not None:
            _value(sub, v, field.join(path, k), out)
        elif isinstance(extra, dict):
            _value(extra, v, field.join(path, k), out)


# --- pruning --------------------------------------------------------------------------------

def prune(rt: registry.ResourceType, obj: Obj, *, remove: bool = True) -> list[str]:
    """Drop (or with remove=False only list) the fields the schema does not declare."""
    out: list[str] = []
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        _prune_metadata(meta, "metadata", out, remove)
    if _preserves(rt):
        return out
    root = root_schema(rt)
    if root.get("x-kubernetes-preserve-unknown-fields"):
        _prune_children(root, obj, "", out, remove, keep=_ROOT_KEEP)
        return out
    _prune_object(root, obj, "", out, remove, keep=_ROOT_KEEP)
    return out


def _prune_metadata(meta: Obj, path: str, out: list[str], remove: bool) -> None:
    found: list[str] = []
    schema.unknown_fields(schema.node("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
                          meta, path, found)
    out += found
    if remove:
        for p in found:
            if p.count(".") == 1:
                meta.pop(p.split(".", 1)[1], None)


def _prune(s: Obj, value: Any, path: str, out: list[str], remove: bool) -> None:
    if isinstance(value, dict):
        if s.get("x-kubernetes-embedded-resource"):
            if isinstance(value.get("metadata"), dict):
                _prune_metadata(value["metadata"], field.join(path, "metadata"), out, remove)
            keep: tuple[str, ...] = _ROOT_KEEP
        else:
            keep = ()
        if s.get("x-kubernetes-preserve-unknown-fields"):
            _prune_children(s, value, path, out, remove, keep=keep)
        else:
            _prune_object(s, value, path, out, remove, keep=keep)
    elif isinstance(value, list) and isinstance(s.get("items"), dict):
        for i, v in enumerate(value):
            _prune(s["items"], v, field.index(path, i), out, remove)


def _prune_object(s: Obj, value: Obj, path: str, out: list[str], remove: bool, *,
                  keep: tuple[str, ...]) -> None:
    props = s.get("properties") or {}
    extra = s.get("additionalProperties")
    for k in list(value):
        if k in keep:
            continue
        sub = props.get(k)
        if sub is None and isinstance(extra, dict):
            sub = extra
        if sub is not None:
            _prune(sub, value[k], field.join(path, k), out, remove)
        elif extra is not True:
            out.append(field.join(path, k))
            if remove:
                del value[k]


def _prune_children(s: Obj, value: Obj, path: str, out: list[str], remove: bool, *,
                    keep: tuple[str, ...]) -> None:
    """Preserve-unknown objects keep unknown keys but known ones are still pruned inside."""
    props = s.get("properties") or {}
    for k, v in value.items():
        if k not in keep and k in props:
            _prune(props[k], v, field.join(path, k), out, remove)


# --- defaulting -----------------------------------------------------------------------------

def apply_defaults(rt: registry.ResourceType, obj: Obj) -> None:
    """Fill the schema's `default` values into absent (or null, non-nullable) fields."""
    _default(root_schema(rt), obj)


def _default(s: Obj, value: Any) -> None:
    if isinstance(value, dict):
        props = s.get("properties") or {}
        for k, sub in props.items():
            if "default" in sub and (k not in value or (value[k] is None and not sub.get("nullable"))):
                value[k] = copy.deepcopy(sub["default"])
        extra = s.get("additionalProperties")
        for k, v in value.items():
            sub = props.get(k) or (extra if isinstance(extra, dict) else None)
            if sub is not None and k != "metadata":
                _default(sub, v)
    elif isinstance(value, list) and isinstance(s.get("items"), dict):
        for v in value:
            _default(s["items"], v)
