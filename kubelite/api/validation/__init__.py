"""Object validation for every served type: the API server's entry points.

- `check_unknown_fields(rt, obj)`: paths of fields no schema declares (for fieldValidation).
- `validate(rt, obj, old=None)`: raises `errors.BadRequest` for values a Go client could not
  decode (built-ins) and `errors.Invalid` with one cause per failing field otherwise.
- `prune(rt, obj)`: drops undeclared fields of custom resources, returning their paths.

For custom types `rt.crd` is the CRD's version entry plus top-level fields:
`{"openAPIV3Schema": {...}, "additionalPrinterColumns": [...], "subresources": {...},
"preserveUnknownFields": bool}`.
"""

from __future__ import annotations

from typing import Any

from kubelite.api import errors, registry, schemas
from kubelite.api.validation import builtin, crd, meta, schema

Obj = dict[str, Any]


def _node(rt: registry.ResourceType) -> schema.Node | None:
    if not rt.schema_name or rt.schema_name not in schemas.definitions():
        return None
    return schema.node(rt.schema_name)


def check_unknown_fields(rt: registry.ResourceType, obj: Obj) -> list[str]:
    """JSON paths ("spec.foo", "spec.containers[0].bar") of fields the schema does not declare."""
    if rt.crd is not None:
        return crd.prune(rt, obj, remove=False)
    node = _node(rt)
    out: list[str] = []
    if node is not None:
        schema.unknown_fields(node, obj, "", out)
    return out


def prune(rt: registry.ResourceType, obj: Obj) -> list[str]:
    """Remove the fields a custom resource's schema does not declare; built-ins are untouched."""
    if rt.crd is None:
        return []
    return crd.prune(rt, obj)


def strict_error(rt: registry.ResourceType, paths: list[str]) -> errors.BadRequest:
    """The 400 a `fieldValidation=Strict` request with unknown fields gets."""
    listed = ", ".join(f'unknown field "{p}"' for p in paths)
    return errors.BadRequest(f"{_cannot_handle(rt)}strict decoding error: {listed}")


def unknown_field_warnings(paths: list[str]) -> list[str]:
    """`Warning` header texts for `fieldValidation=Warn` (the default for kubectl)."""
    return [f'unknown field "{p}"' for p in paths]


def _cannot_handle(rt: registry.ResourceType) -> str:
    return f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: '


def validate(rt: registry.ResourceType, obj: Obj, old: Obj | None = None) -> None:
    """Raise BadRequest (undecodable built-in) or Invalid (every failing field); else None."""
    causes = meta.validate(rt, obj, old)
    if rt.crd is not None:
        causes += crd.validate(rt, obj)
    else:
        causes += _builtin_causes(rt, obj, old)
    if causes:
        name = (obj.get("metadata") or {}).get("name") or ""
        raise errors.Invalid(rt.group, rt.kind, name, _unique(causes))


def _builtin_causes(rt: registry.ResourceType, obj: Obj, old: Obj | None) -> list[errors.Cause]:
    node = _node(rt)
    generic: list[errors.Cause] = []
    if node is not None:
        problem = schema.decode_error(node, obj)
        if problem:
            raise errors.BadRequest(_cannot_handle(rt) + problem)
        schema.missing_required(node, obj, "", generic)
    rule = builtin.rules().get((rt.group, rt.kind))
    specific = rule(obj, old) if rule is not None else []
    taken = {c.field for c in specific}
    return [c for c in generic if c.field not in taken] + specific


def _unique(causes: list[errors.Cause]) -> list[errors.Cause]:
    """Upstream drops repeated messages when it aggregates field errors."""
    seen: set[tuple[str, str]] = set()
    out = []
    for c in causes:
        if (c.field, c.message) not in seen:
            seen.add((c.field, c.message))
            out.append(c)
    return out


def warm(types: list[registry.ResourceType]) -> None:
    """Compile the schemas of these types now rather than on their first request."""
    for rt in types:
        _node(rt)
