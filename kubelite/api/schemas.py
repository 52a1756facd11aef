"""The Kubernetes 1.32 object schemas, loaded once from the kubernetes-validate package.

Definitions are JSON Schema (draft 2020) under `$defs`, keyed by the upstream definition
name (`io.k8s.api.apps.v1.Deployment`), with the upstream extensions kept
(`x-kubernetes-patch-merge-key`, `x-kubernetes-list-type`, `x-kubernetes-group-version-kind`...).
Nullable types appear as `["string", "null"]`. Everything here is read-only shared data.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import orjson

KUBERNETES_VERSION = "1.32.0"
_REF_PREFIX = "#/$defs/"


@functools.cache
def definitions() -> dict[str, dict[str, Any]]:
    """Every definition by name; loaded on first use, shared afterwards."""
    import kubernetes_validate

    path = os.path.join(
        os.path.dirname(kubernetes_validate.__file__),
        "kubernetes-json-schema", f"v{KUBERNETES_VERSION}-local", "_definitions.json",
    )
    with open(path, "rb") as f:
        defs: dict[str, dict[str, Any]] = orjson.loads(f.read())["$defs"]
    return defs


def definition(name: str) -> dict[str, Any]:
    """One definition by name; KeyError when unknown."""
    return definitions()[name]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` (possibly nested in allOf) to the definition it names."""
    while True:
        ref = schema.get("$ref")
        if ref is None and len(schema.get("allOf", ())) == 1:
            ref = schema["allOf"][0].get("$ref")
        if ref is None:
            return schema
        schema = definitions()[ref.removeprefix(_REF_PREFIX)]


def ref_name(schema: dict[str, Any]) -> str | None:
    """The definition name a schema refers to, if it is a reference."""
    ref = schema.get("$ref")
    if ref is None and len(schema.get("allOf", ())) == 1:
        ref = schema["allOf"][0].get("$ref")
    return ref.removeprefix(_REF_PREFIX) if ref else None


def types_of(schema: dict[str, Any]) -> set[str]:
    """The JSON types a schema admits, without "null"."""
    t = schema.get("type")
    if t is None:
        return set()
    return {t} if isinstance(t, str) else {x for x in t if x != "null"}


def property_schema(schema: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The resolved schema of one property of an object schema, or None if undeclared."""
    props = resolve(schema).get("properties") or {}
    sub = props.get(name)
    return resolve(sub) if sub is not None else None


def items_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The resolved schema of a list's items."""
    items = resolve(schema).get("items")
    return resolve(items) if isinstance(items, dict) else None


def map_values_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The resolved schema of a map's values (`additionalProperties`)."""
    extra = resolve(schema).get("additionalProperties")
    return resolve(extra) if isinstance(extra, dict) else None
