"""Query parameters of API requests, parsed and checked once at the edge."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelite.api import errors

_VALIDATION = ("Strict", "Warn", "Ignore")
_PROPAGATION = ("Orphan", "Background", "Foreground")


def _bool(q: Mapping[str, str], name: str) -> bool:
    v = q.get(name, "")
    if v in ("", "false", "0", "False"):
        return False
    if v in ("true", "1", "True"):
        return True
    raise errors.BadRequest(f'invalid value for {name}: "{v}" is not a boolean')


def _int(q: Mapping[str, str], name: str) -> int | None:
    v = q.get(name)
    if v in (None, ""):
        return None
    try:
        return int(v)  # type: ignore[arg-type]
    except ValueError:
        raise errors.BadRequest(f'invalid value for {name}: "{v}" is not an integer') from None


@dataclass(frozen=True)
class WriteOptions:
    dry_run: bool
    field_manager: str
    field_validation: str
    force: bool

    @classmethod
    def parse(cls, q: Mapping[str, str], user_agent: str) -> WriteOptions:
        dry = q.getall("dryRun", []) if hasattr(q, "getall") else [q.get("dryRun", "")]
        dry = [d for d in dry if d]
        if any(d != "All" for d in dry):
            raise errors.BadRequest(f'Invalid dryRun value: {", ".join(dry)}; only "All" is '
                                    f'supported')
        fv = q.get("fieldValidation", "") or "Warn"
        if fv not in _VALIDATION:
            raise errors.BadRequest(f'fieldValidation must be one of "Ignore", "Warn", or '
                                    f'"Strict", got "{fv}"')
        manager = q.get("fieldManager", "")
        if len(manager) > 128:
            raise errors.BadRequest("fieldManager: Too long: may not be more than 128 bytes")
        return cls(bool(dry), manager or default_manager(user_agent), fv, _bool(q, "force"))


def default_manager(user_agent: str) -> str:
    """Upstream derives an unnamed manager from the User-Agent's product name."""
    product = user_agent.split("/", 1)[0].strip()
    return product[:128] or "unknown"


@dataclass(frozen=True)
class ListOptions:
    label_selector: str
    field_selector: str
    limit: int
    continue_token: str
    resource_version: str
    resource_version_match: str
    watch: bool
    allow_bookmarks: bool
    timeout_seconds: int | None
    send_initial_events: bool | None
    include_object: str

    @classmethod
    def parse(cls, q: Mapping[str, str]) -> ListOptions:
        limit = _int(q, "limit") or 0
        if limit < 0:
            raise errors.BadRequest("limit must be a non-negative integer")
        sie = q.get("sendInitialEvents")
        include = q.get("includeObject", "") or "Metadata"
        if include not in ("Metadata", "Object", "None"):
            raise errors.BadRequest(f'includeObject: Unsupported value: "{include}"')
        return cls(
            label_selector=q.get("labelSelector", ""), field_selector=q.get("fieldSelector", ""),
            limit=limit, continue_token=q.get("continue", ""),
            resource_version=q.get("resourceVersion", ""),
            resource_version_match=q.get("resourceVersionMatch", ""),
            watch=_bool(q, "watch"), allow_bookmarks=_bool(q, "allowWatchBookmarks"),
            timeout_seconds=_int(q, "timeoutSeconds"),
            send_initial_events=None if sie in (None, "") else _bool(q, "sendInitialEvents"),
            include_object=include,
        )


@dataclass(frozen=True)
class DeleteOptions:
    propagation: str | None
    grace_period: int | None
    uid: str
    resource_version: str
    dry_run: bool

    @classmethod
    def parse(cls, q: Mapping[str, str], body: dict[str, Any] | None) -> DeleteOptions:
        body = body or {}
        if body and body.get("kind") not in (None, "DeleteOptions"):
            raise errors.BadRequest(f'expected DeleteOptions, got {body.get("kind")}')
        prop = body.get("propagationPolicy") or q.get("propagationPolicy") or None
        if body.get("orphanDependents") is not None or q.get("orphanDependents"):
            orphan = body.get("orphanDependents")
            if orphan is None:
                orphan = _bool(q, "orphanDependents")
            prop = prop or ("Orphan" if orphan else "Background")
        if prop is not None and prop not in _PROPAGATION:
            raise errors.BadRequest(f'propagationPolicy: Unsupported value: "{prop}": supported '
                                    f'values: "Foreground", "Background", "Orphan"')
        grace = body.get("gracePeriodSeconds")
        if grace is None:
            grace = _int(q, "gracePeriodSeconds")
        pre = body.get("preconditions") or {}
        dry = body.get("dryRun") or ([q["dryRun"]] if q.get("dryRun") else [])
        if any(d != "All" for d in dry):
            raise errors.BadRequest('Invalid dryRun value; only "All" is supported')
        return cls(prop, grace, pre.get("uid") or "", pre.get("resourceVersion") or "", bool(dry))
