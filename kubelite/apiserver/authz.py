"""Authorization. Until RBAC lands, every authenticated user may do everything; the
decision points are here so that RBAC replaces one module, not the handlers."""

from __future__ import annotations

from typing import Any

from kubelite.apiserver.auth import User


def decide(user: User, resource: dict[str, Any] | None,
           non_resource: dict[str, Any] | None) -> tuple[bool, str]:
    """(allowed, reason) for one request's attributes."""
    return bool(user.name), ""


def rules(user: User, namespace: str) -> dict[str, Any]:
    """What a SelfSubjectRulesReview reports for `user` in `namespace`."""
    return {
        "resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        "incomplete": False,
    }
