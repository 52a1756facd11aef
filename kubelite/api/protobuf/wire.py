"""The protobuf wire format, just the parts Kubernetes objects use.

Kubernetes types use varints (int32, int64, bool, enums as strings do not occur) and
length-delimited fields (strings, bytes, nested messages, map entries, packed lists).
Fixed-width and group wire types are recognised so they can be skipped or refused.
Everything here works on bytes and raises WireError for malformed input; callers add
context (which object, which field) to the message.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT = 0
FIXED64 = 1
BYTES = 2
FIXED32 = 5

WIRE_NAMES = {VARINT: "varint", FIXED64: "fixed64", BYTES: "length-delimited", FIXED32: "fixed32"}
_MAX_VARINT_BYTES = 10


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Read one unsigned varint at `pos`; return (value, position after it)."""
    result = 0
    for i in range(_MAX_VARINT_BYTES):
        if pos >= len(buf):
            raise WireError(f"truncated varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << (7 * i)
        if byte < 0x80:
            return result, pos
    raise WireError(f"varint longer than {_MAX_VARINT_BYTES} bytes at byte {pos}")


def signed64(value: int) -> int:
    """Reinterpret an unsigned varint as the two's-complement int64 protobuf sent."""
    value &= (1 << 64) - 1
    return value - (1 << 64) if value >= 1 << 63 else value


def fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """Yield (field number, wire type, value) for every field of one message, in wire order.

    Varint and fixed values come back as unsigned ints; length-delimited ones as bytes.
    """
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = read_varint(buf, pos)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError(f"field number 0 at byte {pos}")
        value: int | bytes
        if wire_type == VARINT:
            value, pos = read_varint(buf, pos)
        elif wire_type == BYTES:
            size, pos = read_varint(buf, pos)
            if pos + size > end:
                raise WireError(f"field {number} claims {size} bytes but only {end - pos} remain")
            value, pos = bytes(buf[pos : pos + size]), pos + size
        elif wire_type in (FIXED64, FIXED32):
            width = 8 if wire_type == FIXED64 else 4
            if pos + width > end:
                raise WireError(f"truncated fixed-width field {number}")
            value = int.from_bytes(buf[pos : pos + width], "little")
            pos += width
        else:
            raise WireError(f"field {number} uses unsupported wire type {wire_type}")
        yield number, wire_type, value


def packed_varints(buf: bytes) -> list[int]:
    """Decode a packed repeated varint field."""
    values = []
    pos = 0
    while pos < len(buf):
        value, pos = read_varint(buf, pos)
        values.append(value)
    return values


def varint(value: int) -> bytes:
    """Encode an int as a varint; negative numbers as 10-byte two's complement, as Go does."""
    value &= (1 << 64) - 1
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def varint_field(number: int, value: int) -> bytes:
    return varint(number << 3 | VARINT) + varint(value)


def bytes_field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | BYTES) + varint(len(payload)) + payload
