"""The write pipeline shared by create, update and patch.

decode -> type check -> unknown fields (Strict/Warn/Ignore) -> server metadata ->
defaults -> validation -> admission plugins -> managedFields. Nothing reaches the store
unless every step passed, so a rejected write leaves no trace.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from kubelite.api import apply, defaults, errors, registry, schemas, validation
from kubelite.apiserver import (
    admission_default_class,
    admission_protection,
    admission_services,
    admission_tolerations,
    context,
    params,
    strategy,
)

Obj = dict[str, Any]
# Admission plugins: (ctx, rt, new, old) -> None; may mutate `new` or raise an APIError.
Plugin = Callable[[context.Context, registry.ResourceType, Obj, Obj | None], Awaitable[None]]
# The built-in admission plugins, in the order they run.
PLUGINS: list[Plugin] = [admission_tolerations.default_tolerations,
                         admission_default_class.default_class,
                         admission_protection.add_finalizer,
                         admission_services.allocate_service_ips]


def check_type(rt: registry.ResourceType, obj: Obj) -> None:
    """The body must be the kind the URL names (missing apiVersion/kind are filled in)."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version and api_version != rt.api_version:
        raise errors.BadRequest(f"the API version in the data ({api_version}) does not match "
                                f"the expected API version ({rt.api_version})")
    if kind and kind != rt.kind:
        raise errors.BadRequest(f"the kind in the data ({kind}) does not match the expected "
                                f"kind ({rt.kind})")
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind


def schema_of(rt: registry.ResourceType) -> Obj | None:
    if rt.crd is not None:
        return rt.crd.get("openAPIV3Schema")
    return schemas.definition(rt.schema_name) if rt.schema_name else None


def unknown_fields(rt: registry.ResourceType, obj: Obj, mode: str) -> list[str]:
    """Apply fieldValidation: Strict rejects unknown fields (400), Warn returns warnings;
    in every other case unknown fields are dropped, as decoding into the type drops them."""
    unknown = validation.check_unknown_fields(rt, obj)
    if unknown and mode == "Strict":
        raise validation.strict_error(rt, unknown)
    if rt.crd is not None:
        validation.prune(rt, obj)
    else:
        for path in unknown:
            _drop(obj, path)
    return validation.unknown_field_warnings(unknown) if unknown and mode == "Warn" else []


def _drop(obj: Any, path: str) -> None:
    """Remove one field named by a path like `spec.containers[0].imagee`."""
    parts = re.findall(r"[^.\[\]]+|\[\d+\]", path)
    for part in parts[:-1]:
        if part.startswith("["):
            idx = int(part[1:-1])
            obj = obj[idx] if isinstance(obj, list) and idx < len(obj) else None
        else:
            obj = obj.get(part) if isinstance(obj, dict) else None
        if obj is None:
            return
    if isinstance(obj, dict):
        obj.pop(parts[-1], None)


async def admit_create(ctx: context.Context, rt: registry.ResourceType, obj: Obj,
                       namespace: str, opts: params.WriteOptions) -> list[str]:
    """Prepare a new object for the store; returns warnings for the client."""
    check_type(rt, obj)
    warnings = unknown_fields(rt, obj, opts.field_validation)
    strategy.prepare_create(rt, obj, namespace)
    defaults.apply_defaults(rt, obj)
    _fill_structs(rt, obj)
    validation.validate(rt, obj)
    if rt.namespaced:
        await ctx.check_namespace(obj["metadata"]["namespace"], creating=True)
    for plugin in PLUGINS:
        await plugin(ctx, rt, obj, None)
    return warnings


async def admit_update(ctx: context.Context, rt: registry.ResourceType, new: Obj, old: Obj,
                       subresource: str, opts: params.WriteOptions) -> tuple[Obj, list[str]]:
    """Prepare an update of `old` to `new`; returns the object to store and warnings."""
    check_type(rt, new)
    warnings = unknown_fields(rt, new, opts.field_validation)
    new = strategy.prepare_update(rt, new, old, subresource)
    defaults.apply_defaults(rt, new)
    _fill_structs(rt, new)
    validation.validate(rt, new, old)
    for plugin in PLUGINS:
        await plugin(ctx, rt, new, old)
    return new, warnings


def _fill_structs(rt: registry.ResourceType, obj: Obj) -> None:
    """Go serialises a struct-typed spec/status even when empty: built-in kinds that
    declare them always carry them (a Node has "spec": {}, a Deployment "status": {})."""
    if rt.crd is not None or not rt.schema_name:
        return
    props = schemas.definition(rt.schema_name).get("properties") or {}
    for field in ("spec", "status"):
        if field in props and field not in obj:
            obj[field] = {}


def track_fields(rt: registry.ResourceType, old: Obj | None, new: Obj, manager: str,
                 subresource: str = "") -> Obj:
    """Record which fields `manager` set in metadata.managedFields."""
    return apply.track_update(old, new, manager=manager, operation="Update",
                              api_version=rt.api_version, now=strategy.now_rfc3339(),
                              subresource=subresource, schema=schema_of(rt),
                              has_status_subresource=strategy.has_status(rt))


def warning_headers(warnings: list[str]) -> dict[str, str] | None:
    if not warnings:
        return None
    # aiohttp accepts one value per key here; join as upstream would send several headers.
    return {"Warning": ", ".join('299 - "' + w.replace('"', '\\"') + '"' for w in warnings)}
