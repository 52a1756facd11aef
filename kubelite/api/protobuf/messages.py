"""Decode one protobuf message into the JSON-shaped dict Go's encoding/json would print.

Driven entirely by the schema tables: proto2 presence decides what appears (see
kubelite.api.protobuf.schema for the rules). Unknown field numbers are skipped, as
Kubernetes does for fields newer than the server. Errors name the JSON path.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from kubelite.api.protobuf import schema, values, wire

_ZERO = {"s": "", "i": 0, "b": False, "y": ""}
Item = tuple[int, int | bytes]  # (wire type, value) of one field occurrence
_TYPE_NAMES = {"s": "a string", "i": "an integer", "b": "a boolean", "y": "bytes"}


def _expect(field: schema.Field, wire_type: int, path: str, allowed: tuple[int, ...]) -> None:
    if wire_type not in allowed:
        got = wire.WIRE_NAMES.get(wire_type, str(wire_type))
        expected = _TYPE_NAMES.get(field.type, f"a {field.type} message")
        raise wire.WireError(f"{path}: field {field.number} has wire type {got}, expected {expected}")


def _scalar(type_: str, value: int | bytes, path: str) -> Any:
    if isinstance(value, int):
        return wire.signed64(value) if type_ == "i" else value != 0
    if type_ == "y":
        return base64.b64encode(value).decode()
    try:
        return value.decode()
    except UnicodeDecodeError as err:
        raise wire.WireError(f"{path}: string is not valid UTF-8") from err


def _single(sch: schema.Schema, field: schema.Field, item: Item, *, path: str) -> Any:
    """One value of `field`'s type (a list element, a map value or the field itself)."""
    wire_type, value = item
    if field.type in ("i", "b"):
        _expect(field, wire_type, path, (wire.VARINT,))
        return _scalar(field.type, value, path)
    _expect(field, wire_type, path, (wire.BYTES,))
    assert isinstance(value, bytes)
    if field.type in schema.SCALARS:
        return _scalar(field.type, value, path)
    if field.type in schema.SPECIALS:
        return values.decode(field.type, value)
    return decode_message(sch, field.type, value, path=path)


def _repeated(sch: schema.Schema, field: schema.Field, item: Item, *, path: str) -> list[Any]:
    """The elements one wire field adds to a list (several when ints come packed)."""
    wire_type, value = item
    if field.type in ("i", "b") and wire_type == wire.BYTES:
        assert isinstance(value, bytes)
        return [_scalar(field.type, v, path) for v in wire.packed_varints(value)]
    return [_single(sch, field, item, path=path)]


def _map_entry(sch: schema.Schema, field: schema.Field, entry: Item, *, path: str) -> tuple[str, Any]:
    """One (key, value) of a map field; a missing value is its type's zero."""
    wire_type, value = entry
    _expect(field, wire_type, path, (wire.BYTES,))
    assert isinstance(value, bytes)
    key, item = "", None
    for number, item_wire_type, item_value in wire.fields(value):
        if number == 1:
            key = _scalar("s", item_value, path) if isinstance(item_value, bytes) else ""
        elif number == 2:
            item = _single(sch, field, (item_wire_type, item_value), path=f"{path}[{key!r}]")
    if item is None and field.type in _ZERO:
        item = _ZERO[field.type]
    elif item is None and field.is_message:
        item = {}
    elif item is None and field.type == "Quantity":
        item = "0"
    return key, item


def _present(field: schema.Field, value: Any) -> bool:
    """Whether a decoded value appears in JSON (omitempty drops zero scalars; no nulls)."""
    if value is None:
        return False
    if field.label == schema.SINGLE and field.presence == schema.OMITEMPTY and field.type in _ZERO:
        return value != _ZERO[field.type]
    return True


def _finish(
    fields: dict[int, schema.Field], out: dict[str, Any], inline: list[dict[str, Any]]
) -> dict[str, Any]:
    for field in fields.values():
        if field.inline:
            continue
        if field.name in out and not _present(field, out[field.name]):
            del out[field.name]
        elif field.presence == schema.ALWAYS and field.label == schema.SINGLE:
            out.setdefault(field.name, _ZERO[field.type])
    for extra in inline:
        out.update(extra)
    return out


def _fields(data: bytes, path: str) -> Iterator[tuple[int, int, int | bytes]]:
    """wire.fields, with the JSON path of the message in its errors."""
    try:
        yield from wire.fields(data)
    except wire.WireError as err:
        raise wire.WireError(f"{path or 'object'}: {err}") from err


def decode_message(sch: schema.Schema, message: str, data: bytes, *, path: str = "") -> dict[str, Any]:
    """Decode `data` as `message`; nested messages recurse with their JSON path."""
    fields = sch.messages[message]
    out: dict[str, Any] = {}
    inline: list[dict[str, Any]] = []
    for number, wire_type, value in _fields(data, path):
        field = fields.get(number)
        if field is None:
            continue
        where = f"{path}.{field.name}" if path and not field.inline else (path or field.name)
        if field.inline:
            _expect(field, wire_type, where, (wire.BYTES,))
            assert isinstance(value, bytes)
            inline.append(decode_message(sch, field.type, value, path=where))
        elif field.label == schema.REPEATED:
            items = out.setdefault(field.name, [])
            items.extend(_repeated(sch, field, (wire_type, value), path=f"{where}[{len(items)}]"))
        elif field.label == schema.MAP:
            key, item = _map_entry(sch, field, (wire_type, value), path=where)
            out.setdefault(field.name, {})[key] = item
        else:
            out[field.name] = _single(sch, field, (wire_type, value), path=where)
    return _finish(fields, out, inline)
