"""The one exception tree of kubelite, mapped to Kubernetes `Status` reasons.

Every layer raises these; the API server turns them into a `Status` body with the
matching HTTP code exactly once, at its edge. Code never matches on message text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Cause:
    """One field-level cause of an Invalid error (`details.causes[]`)."""

    field: str
    message: str
    reason: str = "FieldValueInvalid"

    def to_dict(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class APIError(Exception):
    """Base: an error a client should see as a Kubernetes Status."""

    message: str
    code: int = 500
    reason: str = "InternalError"
    group: str = ""
    kind: str = ""
    name: str = ""
    causes: list[Cause] = field(default_factory=list)
    retry_after: int = 0

    def __str__(self) -> str:
        return self.message

    def status(self) -> dict[str, Any]:
        """The `Status` object a client receives."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        details: dict[str, Any] = {}
        if self.name:
            details["name"] = self.name
        if self.group:
            details["group"] = self.group
        if self.kind:
            details["kind"] = self.kind
        if self.causes:
            details["causes"] = [c.to_dict() for c in self.causes]
        if self.retry_after:
            details["retryAfterSeconds"] = self.retry_after
        if details:
            body["details"] = details
        return body


def _resource(group: str, plural: str) -> str:
    return f"{plural}.{group}" if group else plural


class BadRequest(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 400, "BadRequest")


class Unauthorized(APIError):
    def __init__(self, message: str = "Unauthorized") -> None:
        super().__init__(message, 401, "Unauthorized")


class Forbidden(APIError):
    def __init__(self, message: str, *, group: str = "", kind: str = "", name: str = "") -> None:
        super().__init__(message, 403, "Forbidden", group=group, kind=kind, name=name)


class NotFound(APIError):
    def __init__(self, group: str, plural: str, name: str, message: str = "") -> None:
        msg = message or f'{_resource(group, plural)} "{name}" not found'
        super().__init__(msg, 404, "NotFound", group=group, kind=plural, name=name)


class PathNotFound(APIError):
    """A URL that names no resource at all (upstream answers a bare 404 Status)."""

    def __init__(self, message: str = "the server could not find the requested resource") -> None:
        super().__init__(message, 404, "NotFound")


class MethodNotAllowed(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 405, "MethodNotAllowed")


class NotAcceptable(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 406, "NotAcceptable")


class AlreadyExists(APIError):
    def __init__(self, group: str, plural: str, name: str) -> None:
        super().__init__(
            f'{_resource(group, plural)} "{name}" already exists',
            409, "AlreadyExists", group=group, kind=plural, name=name,
        )


class Conflict(APIError):
    def __init__(self, group: str, plural: str, name: str, detail: str, *,
                 causes: list[Cause] | None = None) -> None:
        super().__init__(
            f'Operation cannot be fulfilled on {_resource(group, plural)} "{name}": {detail}',
            409, "Conflict", group=group, kind=plural, name=name, causes=list(causes or []),
        )


class Gone(APIError):
    """A resourceVersion or continue token older than the compacted history."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 410, "Expired")


class RequestEntityTooLarge(APIError):
    def __init__(self, message: str = "Request entity too large: limit is 3145728") -> None:
        super().__init__(message, 413, "RequestEntityTooLarge")


class UnsupportedMediaType(APIError):
    def __init__(self, content_type: str) -> None:
        super().__init__(
            f'the body of the request was in an unknown format - accepted media types include: '
            f'application/json, application/yaml, application/vnd.kubernetes.protobuf '
            f'(got "{content_type}")',
            415, "UnsupportedMediaType",
        )


class Invalid(APIError):
    """422: the object failed validation; one cause per offending field."""

    def __init__(self, group: str, kind: str, name: str, causes: list[Cause]) -> None:
        parts = [f"{c.field}: {c.message}" if c.field else c.message for c in causes]
        listed = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
        prefix = f"{kind}.{group}" if group else kind
        super().__init__(
            f'{prefix} "{name}" is invalid: {listed}' if causes else f'{prefix} "{name}" is invalid',
            422, "Invalid", group=group, kind=kind, name=name, causes=causes,
        )


class TooManyRequests(APIError):
    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message, 429, "TooManyRequests", retry_after=retry_after)


class InternalError(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(f"Internal error occurred: {message}", 500, "InternalError")


class ServiceUnavailable(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 503, "ServiceUnavailable")


class Timeout(APIError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 504, "Timeout")


def from_status(status: dict[str, Any]) -> APIError:
    """Rebuild an error from a Status body received over the wire (the client side)."""
    details = status.get("details") or {}
    causes = [
        Cause(c.get("field", ""), c.get("message", ""), c.get("reason", ""))
        for c in details.get("causes") or []
    ]
    err = APIError(
        status.get("message", ""), int(status.get("code") or 500), status.get("reason") or "Unknown",
        group=details.get("group", ""), kind=details.get("kind", ""), name=details.get("name", ""),
        causes=causes, retry_after=int(details.get("retryAfterSeconds") or 0),
    )
    return err


def is_not_found(err: BaseException) -> bool:
    return isinstance(err, APIError) and err.code == 404


def is_conflict(err: BaseException) -> bool:
    return isinstance(err, APIError) and err.code == 409 and err.reason == "Conflict"


def is_already_exists(err: BaseException) -> bool:
    return isinstance(err, APIError) and err.reason == "AlreadyExists"


def is_gone(err: BaseException) -> bool:
    return isinstance(err, APIError) and err.code == 410
