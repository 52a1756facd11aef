"""The envelope around every Kubernetes protobuf body.

A body is the 4-byte magic `k8s\\x00` followed by a runtime.Unknown message:
{1: TypeMeta{1: apiVersion, 2: kind}, 2: raw object bytes, 3: contentEncoding,
4: contentType}.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubelite.api.protobuf import wire

MAGIC = b"k8s\x00"


@dataclass(frozen=True)
class Envelope:
    api_version: str
    kind: str
    raw: bytes
    content_encoding: str = ""
    content_type: str = ""


def _text(value: int | bytes, what: str) -> str:
    if not isinstance(value, bytes):
        raise wire.WireError(f"envelope {what} should be a string")
    try:
        return value.decode()
    except UnicodeDecodeError as err:
        raise wire.WireError(f"envelope {what} is not valid UTF-8") from err


def _type_meta(data: bytes) -> tuple[str, str]:
    api_version = kind = ""
    for number, _, value in wire.fields(data):
        if number == 1:
            api_version = _text(value, "apiVersion")
        elif number == 2:
            kind = _text(value, "kind")
    return api_version, kind


def parse(body: bytes) -> Envelope:
    """Split a body into its envelope parts; raises WireError when it is not one."""
    if not body.startswith(MAGIC):
        raise wire.WireError(f"body does not start with the protobuf prefix {MAGIC!r}")
    api_version = kind = encoding = content_type = ""
    raw = b""
    for number, _, value in wire.fields(body[len(MAGIC) :]):
        if number == 1:
            if not isinstance(value, bytes):
                raise wire.WireError("envelope typeMeta should be a message")
            api_version, kind = _type_meta(value)
        elif number == 2:
            if not isinstance(value, bytes):
                raise wire.WireError("envelope raw should be bytes")
            raw = value
        elif number == 3:
            encoding = _text(value, "contentEncoding")
        elif number == 4:
            content_type = _text(value, "contentType")
    return Envelope(api_version, kind, raw, encoding, content_type)


def build(envelope: Envelope) -> bytes:
    """The body for an envelope, laid out as client-go writes it."""
    type_meta = wire.bytes_field(1, envelope.api_version.encode()) + wire.bytes_field(
        2, envelope.kind.encode()
    )
    return MAGIC + (
        wire.bytes_field(1, type_meta)
        + wire.bytes_field(2, envelope.raw)
        + wire.bytes_field(3, envelope.content_encoding.encode())
        + wire.bytes_field(4, envelope.content_type.encode())
    )
