"""Built-in schemas compiled into small walkable nodes, once per definition.

A `Node` is the part of a JSON schema the hot paths need: allowed JSON types, declared
properties (an object with `props` is closed: other keys are unknown), map values, list
items, required properties and the Go type name used in decode errors. Definitions refer to
each other (even cyclically), so nodes are cached by definition name and linked in place.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from kubelite.api import errors, schemas
from kubelite.api.validation import field

_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_GO_PRIMITIVES = {"string": "string", "boolean": "bool", "number": "float64", "integer": "int64"}
_QUANTITY_RE = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)"
                          r"(?:[eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?")
_QUANTITY_MSG = ("quantities must match the regular expression "
                 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
_DATE_TIME_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")

_KIND_NAMES: dict[type, str] = {str: "string", dict: "object", list: "array"}


class Node:
    """One compiled schema; see the module docstring."""

    __slots__ = ("fmt", "go", "items", "props", "required", "struct", "types", "values")

    def __init__(self) -> None:
        self.types: frozenset[str] = frozenset()  # empty: anything goes
        self.props: dict[str, Node] | None = None
        self.values: Node | None = None
        self.items: Node | None = None
        self.required: tuple[str, ...] = ()
        self.fmt = ""
        self.go = ""
        self.struct = ""


# Every definition compiled so far; filled in place so cyclic references resolve.
_NODES: dict[str, Node] = {}


def node(definition: str) -> Node:
    """The compiled node of a definition (`io.k8s.api.core.v1.Pod`); KeyError if unknown."""
    n = _NODES.get(definition)
    return n if n is not None else _definition_node(definition, _NODES)


def _definition_node(name: str, building: dict[str, Node]) -> Node:
    if name in building:
        return building[name]
    n = Node()
    building[name] = n
    _fill(n, schemas.definition(name), building)
    short = name.rsplit(".", 2)
    n.go = f"{short[-2]}.{short[-1]}"
    n.struct = short[-1]
    return n


def _compile(schema: dict[str, Any], building: dict[str, Node]) -> Node:
    ref = schemas.ref_name(schema)
    if ref is not None:
        return _definition_node(ref, building)
    n = Node()
    _fill(n, schema, building)
    return n


def _fill(n: Node, schema: dict[str, Any], building: dict[str, Node]) -> None:
    types = set(schemas.types_of(schema))
    for alt in schema.get("oneOf", ()):
        types |= schemas.types_of(alt)
    n.types = frozenset(types)
    n.fmt = schema.get("format", "")
    n.required = tuple(schema.get("required", ()))
    props = schema.get("properties")
    if props is not None:
        n.props = {k: _compile(v, building) for k, v in props.items()}
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        n.values = _compile(extra, building)
    items = schema.get("items")
    if isinstance(items, dict):
        n.items = _compile(items, building)
    n.go = _go_type(n)


def _go_type(n: Node) -> str:
    if n.items is not None:
        return "[]" + (n.items.go or "interface {}")
    if n.values is not None:
        return "map[string]" + (n.values.go or "interface {}")
    if n.fmt in _INT_RANGES:
        return n.fmt
    if len(n.types) == 1:
        return _GO_PRIMITIVES.get(next(iter(n.types)), "map[string]interface {}")
    return ""


# --- unknown fields -------------------------------------------------------------------------

def unknown_fields(n: Node, value: Any, path: str, out: list[str]) -> None:
    """Append the paths of keys no schema declares (strict decoding's "unknown field")."""
    if isinstance(value, dict):
        props = n.props
        if props is not None:
            for k, v in value.items():
                sub = props.get(k)
                if sub is None:
                    out.append(field.join(path, k))
                elif v is not None and (sub.props is not None or sub.values or sub.items):
                    unknown_fields(sub, v, field.join(path, k), out)
        elif n.values is not None and (n.values.props is not None or n.values.items):
            for k, v in value.items():
                unknown_fields(n.values, v, field.key(path, k), out)
    elif isinstance(value, list) and n.items is not None:
        for i, v in enumerate(value):
            unknown_fields(n.items, v, field.index(path, i), out)


# --- decode (type) errors -------------------------------------------------------------------

def _kind_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return _KIND_NAMES.get(type(value), "value")


def decode_error(n: Node, value: Any) -> str | None:
    """The first value a Go client could not decode, worded like encoding/json; None if fine."""
    return _decode(n, value, "", "")


def _decode(n: Node, value: Any, struct: str, path: str) -> str | None:
    if value is None:
        return None
    problem = _scalar_problem(n, value)
    if problem is not None:
        if problem:
            return problem
        where = f"{struct}.{path}" if struct else path
        return (f"json: cannot unmarshal {_kind_of(value)} into Go struct field {where} "
                f"of type {n.go or 'interface {}'}")
    return _decode_children(n, value, struct, path)


def _decode_children(n: Node, value: Any, struct: str, path: str) -> str | None:
    if isinstance(value, dict):
        if n.props is not None:
            inner = n.struct or struct
            for k, v in value.items():
                sub = n.props.get(k)
                if sub is not None:
                    err = _decode(sub, v, inner, field.join(path, k))
                    if err:
                        return err
        elif n.values is not None:
            for v in value.values():
                err = _decode(n.values, v, struct, path)
                if err:
                    return err
    elif isinstance(value, list) and n.items is not None:
        for v in value:
            err = _decode(n.items, v, struct, path)
            if err:
                return err
    return None


def _scalar_problem(n: Node, value: Any) -> str | None:
    """None: type fits. "": wrong JSON type. Other text: a format error message."""
    types = n.types
    if not types:
        return None
    if isinstance(value, bool):
        return None if "boolean" in types else ""
    if isinstance(value, int):
        if "integer" in types:
            return _int_range(n, value)
        return None if "number" in types else ""
    if isinstance(value, float):
        if "number" in types:
            return None
        if "integer" in types:
            return f"json: cannot unmarshal number {value!r} into Go value of type {n.go or 'int'}"
        return ""
    if isinstance(value, str):
        return _string_problem(n, value) if "string" in types else ""
    if isinstance(value, dict):
        return None if "object" in types else ""
    if isinstance(value, list):
        return None if "array" in types else ""
    return ""


def _int_range(n: Node, value: int) -> str | None:
    lo, hi = _INT_RANGES.get(n.fmt, (-(2**63), 2**63 - 1))
    if lo <= value <= hi:
        return None
    return f"json: cannot unmarshal number {value} into Go value of type {n.fmt or 'int64'}"


def _string_problem(n: Node, value: str) -> str | None:
    if n.go == "resource.Quantity":
        return None if _QUANTITY_RE.fullmatch(value) else _QUANTITY_MSG
    if n.fmt == "byte":
        return _base64_problem(value)
    if n.fmt == "date-time" and value and not _DATE_TIME_RE.fullmatch(value):
        return (f'parsing time "{value}" as "2006-01-02T15:04:05Z07:00": '
                f'cannot parse "{value}" as "2006"')
    return None


def _base64_problem(value: str) -> str | None:
    try:
        base64.b64decode(value, validate=True)
        return None
    except (binascii.Error, ValueError):
        alphabet = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
        bad = next((i for i, c in enumerate(value) if c not in alphabet), len(value) // 4 * 4)
        return f"illegal base64 data at input byte {bad}"


# --- required fields ------------------------------------------------------------------------

def missing_required(n: Node, value: Any, path: str, out: list[errors.Cause]) -> None:
    """Append a "Required value" cause for every required property left out or empty."""
    if isinstance(value, dict):
        if n.props is None:
            if n.values is not None and n.values.props is not None:
                for k, v in value.items():
                    missing_required(n.values, v, field.key(path, k), out)
            return
        for r in n.required:
            v = value.get(r)
            if v is None or v == "":
                out.append(field.required(field.join(path, r)))
        for k, v in value.items():
            sub = n.props.get(k)
            nested = sub is not None and (sub.props is not None or sub.items or sub.values)
            if sub is not None and nested and v and not (path == "" and k == "status"):
                missing_required(sub, v, field.join(path, k), out)
    elif isinstance(value, list) and n.items is not None and n.items.props is not None:
        for i, v in enumerate(value):
            missing_required(n.items, v, field.index(path, i), out)
