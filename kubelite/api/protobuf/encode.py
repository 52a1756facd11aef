"""Encode a JSON-shaped object as a Kubernetes protobuf body, for round-trip tests and clients.

The inverse of decode for every field the object carries: values present in the dict
are written (zeros included), absent ones are not; map entries go in key order and
repeated ints unpacked, as Go's generated marshallers write them.
"""

from __future__ import annotations

import base64
from typing import Any

from kubelite.api.protobuf import envelope, schema, values, wire


def _value(sch: schema.Schema, field: schema.Field, value: Any) -> bytes:
    """One value of `field` as a complete wire field."""
    if field.type in ("i", "b"):
        return wire.varint_field(field.number, int(value))
    if field.type == "s":
        payload = value.encode()
    elif field.type == "y":
        payload = base64.b64decode(value)
    elif field.type in schema.SPECIALS:
        payload = values.encode(field.type, value)
    else:
        payload = encode_message(sch, field.type, value)
    return wire.bytes_field(field.number, payload)


def _field(sch: schema.Schema, field: schema.Field, value: Any) -> bytes:
    if field.label == schema.REPEATED:
        return b"".join(_value(sch, field, item) for item in value)
    if field.label == schema.MAP:
        entry = schema.Field(2, "value", field.type)
        return b"".join(
            wire.bytes_field(field.number, wire.bytes_field(1, key.encode()) + _value(sch, entry, value[key]))
            for key in sorted(value)
        )
    return _value(sch, field, value)


def encode_message(sch: schema.Schema, message: str, obj: dict[str, Any]) -> bytes:
    """The payload of one message; inline fields read from `obj` itself."""
    out = bytearray()
    for number in sorted(sch.messages[message]):
        field = sch.messages[message][number]
        if field.inline:
            out += wire.bytes_field(number, encode_message(sch, field.type, obj))
        elif obj.get(field.name) is not None:
            out += _field(sch, field, obj[field.name])
    return bytes(out)


def encode(obj: dict[str, Any]) -> bytes:
    """A whole body (magic, envelope, object) for an object with apiVersion and kind."""
    sch = schema.get()
    message = sch.kind_message(obj["apiVersion"], obj["kind"])
    if message is None:
        raise ValueError(f"no protobuf table for {obj['apiVersion']} {obj['kind']}")
    raw = encode_message(sch, message, obj)
    return envelope.build(envelope.Envelope(obj["apiVersion"], obj["kind"], raw))
