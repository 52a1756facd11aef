"""Content negotiation: decoding request bodies and choosing the response shape.

Request bodies may be JSON, YAML or Kubernetes protobuf (what client-go's typed clients
send); PATCH bodies carry their patch type as the media type. Responses are JSON, or a
Table / PartialObjectMetadata when the Accept header asks for one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import yaml
from aiohttp import web

from kubelite.api import errors

MAX_BODY = 3 * 1024 * 1024

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
APPLY_PATCH_CBOR = "application/apply-patch+cbor"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_PATCH, APPLY_PATCH)

try:
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Loader = yaml.SafeLoader


def media_type(header: str) -> str:
    return header.split(";", 1)[0].strip().lower()


async def read_body(request: web.Request) -> bytes:
    """The raw body, refusing anything over the upstream 3 MiB limit with 413."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise errors.RequestEntityTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(65536):
        size += len(chunk)
        if size > MAX_BODY:
            raise errors.RequestEntityTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise errors.BadRequest(f"error decoding JSON: {e}") from None


def parse_yaml(body: bytes) -> Any:
    try:
        return yaml.load(body, Loader=_Loader)
    except yaml.YAMLError as e:
        raise errors.BadRequest(f"error converting YAML to JSON: {e}") from None


def decode_object(body: bytes, content_type: str) -> dict[str, Any]:
    """A create/update body as a dict, whatever supported encoding it came in."""
    mt = media_type(content_type) or JSON
    if mt == JSON:
        obj = parse_json(body)
    elif mt in (YAML, "application/x-yaml", "text/yaml"):
        obj = parse_yaml(body)
    elif mt == PROTOBUF:
        import kubelite.api.protobuf.decode as pb

        obj = pb.decode(body)
    else:
        raise errors.UnsupportedMediaType(content_type)
    if not isinstance(obj, dict):
        raise errors.BadRequest("the body of the request must be a JSON or YAML object")
    return obj


@dataclass(frozen=True)
class Accept:
    """What shape the client wants back."""

    table: bool = False
    partial_metadata: bool = False
    yaml: bool = False


def parse_accept(header: str) -> Accept:
    """Honour the first acceptable alternative, as upstream's negotiation does."""
    for alt in (header or "").split(","):
        parts = [p.strip() for p in alt.split(";")]
        mt = parts[0].lower()
        params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        as_ = params.get("as")
        if as_ == "Table" and mt in (JSON, "*/*"):
            return Accept(table=True)
        if as_ in ("PartialObjectMetadata", "PartialObjectMetadataList") and mt == JSON:
            return Accept(partial_metadata=True)
        if as_:
            continue
        if mt == YAML:
            return Accept(yaml=True)
        if mt in (JSON, "*/*", "application/*", "", PROTOBUF):
            return Accept()
    return Accept()


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type=JSON,
                        headers=headers)


def raw_json_response(raw: bytes, status: int = 200,
                      headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=raw, status=status, content_type=JSON, headers=headers)


def encode_response(obj: Any, accept: Accept, status: int = 200,
                    headers: dict[str, str] | None = None) -> web.Response:
    if accept.yaml:
        text = yaml.safe_dump(obj, sort_keys=False)
        return web.Response(text=text, status=status, content_type=YAML, headers=headers)
    return json_response(obj, status, headers)
