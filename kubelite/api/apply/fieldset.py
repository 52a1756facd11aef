"""Field paths, sets of them, and their `FieldsV1` wire form (as in metadata.managedFields).

A path element is a `(kind, text)` pair where `text` is what follows the colon on the wire:
`("f", "replicas")` a struct/map field, `("k", '{"name":"nginx"}')` an associative-list item
by its key fields, `("v", '"x"')` a set item by value, `("i", "0")` a list item by index.
A path is a tuple of elements; a field set is a Python set of the paths it *owns* (members).
Encoding writes a node owned itself *and* having owned children with a `".": {}` entry,
children sorted the way upstream sorts them (fields < keys < values < indices).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

PathElement = tuple[str, str]
Path = tuple[PathElement, ...]
FieldSet = set[Path]
Tree = dict[PathElement, "Node"]

_KIND_RANK = {"f": 0, "k": 1, "v": 2, "i": 3}


class Node:
    """One node of a set's tree: owned itself (`member`) and/or a parent of owned paths."""

    __slots__ = ("children", "member")

    def __init__(self) -> None:
        self.member = False
        self.children: Tree = {}


def wire_json(value: Any) -> str:
    """Compact JSON as Go's encoding/json writes it (sorted keys, HTML-safe escapes)."""
    text = json.dumps(_go_numbers(value), separators=(",", ":"), ensure_ascii=False, sort_keys=True)
    for raw, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                     ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, esc)
    return text


def _go_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, dict):
        return {k: _go_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v) for v in value]
    return value


def field(name: str) -> PathElement:
    return ("f", name)


def _plain(v: Any) -> str | None:
    """The wire text of a common key value without the JSON encoder, or None."""
    if type(v) is int:
        return str(v)
    if type(v) is str and v.isascii() and v.isprintable() and not any(c in v for c in '"\\<>&'):
        return f'"{v}"'
    return None


def key(fields: dict[str, Any]) -> PathElement:
    """An associative-list item named by its key fields (order-insensitive)."""
    items = sorted(fields.items())
    parts = [(_plain(k), _plain(v)) for k, v in items]
    if all(k is not None and v is not None for k, v in parts):
        return ("k", "{" + ",".join(f"{k}:{v}" for k, v in parts) + "}")
    return ("k", wire_json(dict(items)))


def value(item: Any) -> PathElement:
    return ("v", wire_json(item))


def index(i: int) -> PathElement:
    return ("i", str(i))


def make_path(*parts: str | int | PathElement) -> Path:
    """Convenience: strings are field names, ints indices, tuples elements as they are."""
    out: list[PathElement] = []
    for p in parts:
        if isinstance(p, tuple):
            out.append(p)
        elif isinstance(p, int):
            out.append(index(p))
        else:
            out.append(field(p))
    return tuple(out)


# ---- human-readable form (conflict messages) -------------------------------------------

def _go_string(v: Any) -> str:
    """value.ToString as upstream prints key and set values."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, list):
        return "[" + ",".join(_go_string(x) for x in v) + "]"
    if isinstance(v, dict):
        return "".join(f"{k}={_go_string(x)}" for k, x in v.items())
    return str(v)


def element_string(pe: PathElement) -> str:
    kind, text = pe
    if kind == "f":
        return "." + text
    if kind == "k":
        return "[" + ",".join(f"{k}={_go_string(v)}" for k, v in json.loads(text).items()) + "]"
    if kind == "v":
        return f"[={_go_string(json.loads(text))}]"
    return f"[{text}]"


def path_string(path: Path) -> str:
    """`.spec.template.spec.containers[name="nginx"].image`, as upstream prints paths."""
    return "".join(element_string(pe) for pe in path)


# ---- ordering ----------------------------------------------------------------------------

def _value_key(v: Any) -> tuple[Any, ...]:
    if isinstance(v, bool):
        return (2, v)
    if isinstance(v, (int, float)):
        return (0, v)
    if isinstance(v, str):
        return (1, v)
    if isinstance(v, list):
        return (3, tuple(_value_key(x) for x in v))
    if isinstance(v, dict):
        return (4, tuple((k, _value_key(x)) for k, x in sorted(v.items())))
    return (5,)


@functools.lru_cache(maxsize=65536)
def element_sort_key(pe: PathElement) -> tuple[Any, ...]:
    """Cached: the same few hundred path elements recur in every write's field sets."""
    kind, text = pe
    if kind == "f":
        return (0, text)
    if kind == "k":
        return (1, tuple((k, _value_key(v)) for k, v in json.loads(text).items()))
    if kind == "v":
        return (2, _value_key(json.loads(text)))
    return (3, int(text))


def _sorted(tree: Tree) -> list[tuple[PathElement, Node]]:
    return sorted(tree.items(), key=lambda kv: element_sort_key(kv[0]))


# ---- trees -------------------------------------------------------------------------------

def tree(paths: Iterable[Path]) -> Tree:
    """The prefix tree of a set, for walking it alongside an object."""
    root: Tree = {}
    for path in paths:
        level = root
        node = None
        for pe in path:
            node = level.get(pe)
            if node is None:
                node = level[pe] = Node()
            level = node.children
        if node is not None:
            node.member = True
    return root


def iterate(paths: Iterable[Path]) -> Iterator[Path]:
    """Paths in upstream's order: at each level the owned elements first, then descend."""
    yield from _iterate(tree(paths), ())


def _iterate(level: Tree, prefix: Path) -> Iterator[Path]:
    items = _sorted(level)
    for pe, node in items:
        if node.member:
            yield prefix + (pe,)
    for pe, node in items:
        if node.children:
            yield from _iterate(node.children, prefix + (pe,))


# ---- FieldsV1 ----------------------------------------------------------------------------

def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The `fieldsV1` object of a set (a fresh dict the caller may keep or change)."""
    return orjson.loads(_encoded(frozenset(paths)))  # type: ignore[no-any-return]


# Every pod of a workload, and every status write of a kind of client, carries the same
# few field sets: encoding and decoding them once saves most of managedFields' cost per write.
@functools.lru_cache(maxsize=2048)
def _encoded(paths: frozenset[Path]) -> bytes:
    return orjson.dumps(_encode(tree(paths)))


def _encode(level: Tree) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pe, node in _sorted(level):
        body: dict[str, Any] = {}
        if node.member and node.children:
            body["."] = {}
        body.update(_encode(node.children))
        out[f"{pe[0]}:{pe[1]}"] = body
    return out


def from_fields_v1(fields: Any) -> FieldSet:
    """Decode a `fieldsV1` object; ValueError when it is malformed."""
    if not isinstance(fields, dict):
        raise ValueError("fieldsV1 must be an object")  # noqa: TRY004 - malformed data
    try:
        wire = orjson.dumps(fields)
    except TypeError:  # not JSON orjson can write (e.g. an integer beyond 64 bits)
        out: FieldSet = set()
        _decode(fields, (), out)
        return out
    return set(_decoded(wire))


@functools.lru_cache(maxsize=2048)
def _decoded(wire: bytes) -> frozenset[Path]:
    out: FieldSet = set()
    _decode(orjson.loads(wire), (), out)
    return frozenset(out)


def _decode(obj: dict[str, Any], prefix: Path, out: FieldSet) -> None:
    for name, sub in obj.items():
        if name == ".":
            if prefix:
                out.add(prefix)
            continue
        if not isinstance(sub, dict):
            raise ValueError(f"fieldsV1 entry {name!r} must be an object")  # noqa: TRY004 - malformed data
        path = prefix + (parse_element(name),)
        if not sub:
            out.add(path)
        else:
            _decode(sub, path, out)


def parse_element(text: str) -> PathElement:
    kind, sep, rest = text.partition(":")
    if not sep or kind not in _KIND_RANK:
        raise ValueError(f"invalid path element {text!r}")
    if kind == "k":
        keys = json.loads(rest)
        if not isinstance(keys, dict):
            raise ValueError(f"invalid key element {text!r}")
        return key(keys)
    if kind == "v":
        return value(json.loads(rest))
    if kind == "i":
        return index(int(rest))
    return (kind, rest)


def with_prefix(paths: Iterable[Path], prefix: Path) -> FieldSet:
    """The paths under `prefix` (prefix included when owned)."""
    n = len(prefix)
    return {p for p in paths if p[:n] == prefix}
