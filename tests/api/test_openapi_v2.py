"""The OpenAPI v2 document kubectl fetches (in protobuf) to validate a `kind: List`."""

from __future__ import annotations

import pytest

from kubelite.api import openapi_v2
from kubelite.api.protobuf import wire

KUBECTL_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def _message(buf: bytes) -> dict[int, bytes]:
    out = {}
    for number, wire_type, value in wire.fields(buf):
        assert wire_type == wire.BYTES and isinstance(value, bytes)
        out[number] = value
    return out


def test_protobuf_document_is_swagger_2_with_no_definitions() -> None:
    doc = _message(openapi_v2.document_protobuf())
    assert doc[1] == b"2.0"
    info = _message(doc[2])
    assert (info[1], info[2]) == (b"Kubernetes", b"v1.32.4")
    assert 9 not in doc  # definitions: none, so kubectl validates no item itself


def test_json_document_matches() -> None:
    assert openapi_v2.document() == {"swagger": "2.0", "paths": {},
                                     "info": {"title": "Kubernetes", "version": "v1.32.4"}}


@pytest.mark.parametrize(("accept", "protobuf"), [
    (KUBECTL_ACCEPT, True),
    (KUBECTL_ACCEPT + ", application/json", True),
    ("application/json, " + KUBECTL_ACCEPT, False),
    ("application/json", False),
    ("*/*", False),
    ("", False),
])
def test_accept_picks_the_encoding(accept: str, protobuf: bool) -> None:
    assert openapi_v2.wants_protobuf(accept) is protobuf
