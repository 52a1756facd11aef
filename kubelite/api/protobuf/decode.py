"""Turn a Kubernetes protobuf request body into the JSON-shaped object kubelite works with.

`decode` gives exactly what the same client would have sent as JSON (Go's encoding/json
of the same struct), minus JSON nulls: an unset field is absent.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.api.protobuf import envelope, messages, schema, wire

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"


def is_protobuf(content_type: str) -> bool:
    """Whether a Content-Type header names the Kubernetes protobuf encoding."""
    return content_type.split(";", 1)[0].strip().lower() == MEDIA_TYPE


def decode(body: bytes) -> dict[str, Any]:
    """Decode a whole body (magic, envelope, object); raises errors.BadRequest when it can't."""
    try:
        env = envelope.parse(body)
    except wire.WireError as err:
        raise errors.BadRequest(f"the body is not a valid Kubernetes protobuf message: {err}") from err
    if env.content_encoding:
        raise errors.BadRequest(f"protobuf contentEncoding {env.content_encoding!r} is not supported")
    message = schema.get().kind_message(env.api_version, env.kind)
    if message is None:
        raise errors.BadRequest(
            f"protobuf bodies of kind {env.kind!r} in apiVersion {env.api_version!r} are not supported;"
            " send this object as application/json"
        )
    try:
        obj = messages.decode_message(schema.get(), message, env.raw)
    except wire.WireError as err:
        raise errors.BadRequest(f"cannot decode the protobuf {env.kind} body: {err}") from err
    return {"kind": env.kind, "apiVersion": env.api_version, **obj}
