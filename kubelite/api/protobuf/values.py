"""The special types whose protobuf form differs from their JSON form.

Time {1: seconds, 2: nanos} is an RFC 3339 string (seconds precision; MicroTime keeps
microseconds); Quantity {1: string} is its string; IntOrString {1: type, 2: intVal,
3: strVal} is an int or a string; FieldsV1 and RawExtension {1: raw} carry JSON bytes.
`decode(type, payload)` and `encode(type, value)` convert one value each way.
"""

from __future__ import annotations

import datetime
from typing import Any

import orjson

from kubelite.api.protobuf import wire

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_INT, _STRING = 0, 1


def _numbers(payload: bytes) -> dict[int, int | bytes]:
    """The last value of each field number, as protobuf's merge rule has it."""
    return {number: value for number, _, value in wire.fields(payload)}


def _int(found: dict[int, int | bytes], number: int) -> int:
    value = found.get(number, 0)
    if not isinstance(value, int):
        raise wire.WireError(f"field {number} should be a varint")
    return wire.signed64(value)


def _bytes(found: dict[int, int | bytes], number: int) -> bytes:
    value = found.get(number, b"")
    if not isinstance(value, bytes):
        raise wire.WireError(f"field {number} should be length-delimited")
    return value


def _text(found: dict[int, int | bytes], number: int) -> str:
    try:
        return _bytes(found, number).decode()
    except UnicodeDecodeError as err:
        raise wire.WireError(f"field {number} is not valid UTF-8") from err


def format_time(seconds: int, micros: int | None = None) -> str:
    """RFC 3339 in UTC, as metav1.Time (no fraction) or metav1.MicroTime (6 digits) print."""
    try:
        moment = _EPOCH + datetime.timedelta(seconds=seconds)
    except OverflowError as err:
        raise wire.WireError(f"time {seconds}s since the epoch is out of range") from err
    text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"
    return f"{text}.{micros:06d}Z" if micros is not None else f"{text}Z"


def parse_time(text: str) -> tuple[int, int]:
    """(seconds since the epoch, nanoseconds) of an RFC 3339 timestamp."""
    moment = datetime.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    delta = moment - _EPOCH
    return delta.days * 86400 + delta.seconds, delta.microseconds * 1000


def _decode_time(payload: bytes, micro: bool) -> str:
    found = _numbers(payload)
    nanos = _int(found, 2)
    return format_time(_int(found, 1), nanos // 1000 if micro else None)


def _decode_int_or_string(payload: bytes) -> int | str:
    found = _numbers(payload)
    if _int(found, 1) == _STRING:
        return _text(found, 3)
    return _int(found, 2)


def _decode_json(payload: bytes, name: str) -> Any:
    raw = _bytes(_numbers(payload), 1)
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise wire.WireError(f"{name} does not hold JSON ({err})") from err


def decode(type_: str, payload: bytes) -> Any:
    """The JSON value of one special-type message; None for an empty (zero) Time."""
    if type_ in ("Time", "MicroTime"):
        return _decode_time(payload, type_ == "MicroTime") if payload else None
    if type_ == "Quantity":
        return _text(_numbers(payload), 1) or "0"
    if type_ == "IntOrString":
        return _decode_int_or_string(payload)
    if type_ in ("FieldsV1", "RawExtension"):
        return _decode_json(payload, type_)
    raise ValueError(f"not a special type: {type_}")


def encode(type_: str, value: Any) -> bytes:
    """The protobuf payload of one special-type value."""
    if type_ in ("Time", "MicroTime"):
        seconds, nanos = parse_time(value)
        out = wire.varint_field(1, seconds)
        return out + wire.varint_field(2, nanos) if type_ == "MicroTime" and nanos else out
    if type_ == "Quantity":
        return wire.bytes_field(1, str(value).encode())
    if type_ == "IntOrString":
        if isinstance(value, int):
            return wire.varint_field(1, _INT) + wire.varint_field(2, value) + wire.bytes_field(3, b"")
        return wire.varint_field(1, _STRING) + wire.varint_field(2, 0) + wire.bytes_field(3, value.encode())
    if type_ in ("FieldsV1", "RawExtension"):
        return wire.bytes_field(1, orjson.dumps(value))
    raise ValueError(f"not a special type: {type_}")
