"""The OpenAPI v2 (Swagger 2.0) document at `/openapi/v2`: a document with no definitions.

kubelite publishes its schemas as OpenAPI v3 (openapi.py), which kubectl 1.32 reads for
`explain`, for the fieldValidation query parameter and for apply. kubectl still fetches v2,
in protobuf, in two places: to validate a `kind: List` on the client (it never asks the
server to validate a List as a whole) and, before its built-in types, for apply's
strategic-merge metadata. Without a v2 document `kubectl apply -f` of a List fails outright;
with one that names no kinds, kubectl skips client-side validation of the items and sends
each with fieldValidation, so the server validates every item as it does any object, and
apply keeps patching with kubectl's built-in types, as before.

Protobuf is the `openapi.v2.Document` message of the gnostic models (only `swagger` and
`info` are set); JSON is served to anyone else.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import openapi
from kubelite.api.protobuf import wire

PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
# The type upstream answers with (a MIME type cannot carry the "@").
PROTOBUF_RESPONSE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"

_DOCUMENT: dict[str, Any] = {"swagger": "2.0", "info": openapi.INFO, "paths": {}}


def document() -> dict[str, Any]:
    return _DOCUMENT


def document_protobuf() -> bytes:
    """Document{1: swagger, 2: Info{1: title, 2: version}, 8: Paths{}}."""
    info = (wire.bytes_field(1, openapi.INFO["title"].encode())
            + wire.bytes_field(2, openapi.INFO["version"].encode()))
    return wire.bytes_field(1, b"2.0") + wire.bytes_field(2, info) + wire.bytes_field(8, b"")


def wants_protobuf(accept: str) -> bool:
    """Whether the Accept header asks for the protobuf document before JSON."""
    for alt in accept.split(","):
        mt = alt.split(";", 1)[0].strip().lower()
        if mt in (PROTOBUF, PROTOBUF_RESPONSE):
            return True
        if mt in ("application/json", "*/*", "application/*"):
            return False
    return False
