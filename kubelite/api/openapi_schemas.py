"""OpenAPI 3.0 component schemas: the built-in definitions converted, and custom resources'.

The bundled definitions are JSON Schema (`["string", "null"]` types, `#/$defs/` references,
`enum` on apiVersion/kind); upstream's OpenAPI v3 documents use plain types, references
`#/components/schemas/<name>` wrapped as `{"allOf": [{"$ref": ...}], ...}` when the
property carries its own description, no enums on apiVersion/kind. Each definition is
converted once per process and shared read-only by every document.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from kubelite.api import schemas

Obj = dict[str, Any]

REF_PREFIX = "#/components/schemas/"
_DEFS_PREFIX = "#/$defs/"
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = META + "ObjectMeta"
LIST_META = META + "ListMeta"
_INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"

_API_VERSION_DOC = ("APIVersion defines the versioned schema of this representation of an "
                    "object; servers convert recognized schemas to their latest internal value.")
_KIND_DOC = ("Kind is a string value representing the REST resource this object represents; "
             "in CamelCase.")


def ref(name: str) -> Obj:
    """A bare reference to a component schema."""
    return {"$ref": REF_PREFIX + name}


def wrapped_ref(name: str, **siblings: Any) -> Obj:
    """A reference with its own keywords, in upstream's allOf form."""
    return {"allOf": [ref(name)], **siblings}


@functools.cache
def builtin(name: str) -> Obj:
    """One bundled definition converted to OpenAPI 3.0; KeyError when unknown."""
    out = _convert(schemas.definition(name))
    if name == _INT_OR_STRING:  # upstream lists integer first and names the format
        out["format"] = "int-or-string"
        out["oneOf"] = sorted(out.get("oneOf", ()), key=lambda s: s.get("type") != "integer")
    return out


def _convert(schema: Obj) -> Obj:
    target = schema.get("$ref")
    if target is not None:
        name = target.removeprefix(_DEFS_PREFIX)
        rest = {k: _convert_value(k, v) for k, v in schema.items() if k != "$ref"}
        return wrapped_ref(name, **rest) if rest else ref(name)
    out: Obj = {}
    for key, value in schema.items():
        if key == "type":
            value = _plain_type(value)
            if value is None:
                continue
        elif key == "enum" and _is_type_meta_enum(schema):
            continue
        else:
            value = _convert_value(key, value)
        out[key] = value
    return out


def _convert_value(key: str, value: Any) -> Any:
    if key == "properties":
        return {p: _convert(s) for p, s in value.items()}
    if key in ("items", "additionalProperties") and isinstance(value, dict):
        return _convert(value)
    if key in ("oneOf", "anyOf", "allOf"):
        return [_convert(s) for s in value]
    return value


def _plain_type(value: Any) -> str | None:
    if isinstance(value, list):
        kept = [t for t in value if t != "null"]
        return kept[0] if len(kept) == 1 else None
    return str(value)


def _is_type_meta_enum(schema: Obj) -> bool:
    """kubernetes-validate pins apiVersion/kind with a one-value enum; upstream does not."""
    enum = schema.get("enum")
    return isinstance(enum, list) and len(enum) == 1 and _plain_type(schema.get("type")) == "string"


def references(schema: Any) -> Iterable[str]:
    """Names of every component schema referenced anywhere inside `schema`."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str) and target.startswith(REF_PREFIX):
                yield target[len(REF_PREFIX):]
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))


def closure(roots: Iterable[str], extra: dict[str, Obj] | None = None) -> dict[str, Obj]:
    """`roots` and every schema they transitively reference, sorted by name.

    Names in `extra` (custom resources) take precedence over the bundled definitions;
    unknown names are skipped (the document test catches dangling references).
    """
    extra = extra or {}
    found: dict[str, Obj] = {}
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        schema = extra.get(name)
        if schema is None:
            if name not in schemas.definitions():
                continue
            schema = builtin(name)
        found[name] = schema
        pending.extend(n for n in references(schema) if n not in found)
    return dict(sorted(found.items()))


def custom_name(group: str, version: str, kind: str) -> str:
    """Upstream's component name for a custom kind: reversed group, version, kind."""
    return ".".join([*reversed(group.split(".")), version, kind])


def custom_resource(crd: Obj, gvk: Obj) -> Obj:
    """The component schema of a custom kind from its CRD version's openAPIV3Schema."""
    schema = dict(crd.get("openAPIV3Schema") or {})
    if not schema:
        schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    props = dict(schema.get("properties") or {})
    props["apiVersion"] = {"description": _API_VERSION_DOC, "type": "string"}
    props["kind"] = {"description": _KIND_DOC, "type": "string"}
    props["metadata"] = wrapped_ref(OBJECT_META, description="Standard object's metadata.")
    schema["properties"] = dict(sorted(props.items()))
    schema.setdefault("type", "object")
    schema["x-kubernetes-group-version-kind"] = [gvk]
    return schema


def list_of(item_name: str, gvk: Obj, what: str) -> Obj:
    """A `<Kind>List` schema holding items of `item_name`."""
    return {
        "description": f"{gvk['kind']} is a list of {what}",
        "properties": {
            "apiVersion": {"description": _API_VERSION_DOC, "type": "string"},
            "items": {"description": f"List of {what}.", "items": ref(item_name),
                      "type": "array"},
            "kind": {"description": _KIND_DOC, "type": "string"},
            "metadata": wrapped_ref(LIST_META, description="Standard list metadata."),
        },
        "required": ["items"],
        "type": "object",
        "x-kubernetes-group-version-kind": [gvk],
    }


def opaque_kind(gvk: Obj) -> Obj:
    """A schema for a served kind without a bundled definition (e.g. metrics)."""
    return {
        "description": f"{gvk['kind']} (schema not published by this server).",
        "properties": {
            "apiVersion": {"description": _API_VERSION_DOC, "type": "string"},
            "kind": {"description": _KIND_DOC, "type": "string"},
            "metadata": wrapped_ref(OBJECT_META, description="Standard object's metadata."),
        },
        "type": "object",
        "x-kubernetes-group-version-kind": [gvk],
        "x-kubernetes-preserve-unknown-fields": True,
    }
