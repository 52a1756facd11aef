"""Toleration matching (v1.Toleration.ToleratesTaint)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """An empty effect tolerates every effect; an empty key with Exists tolerates every key."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    operator = toleration.get("operator") or "Equal"
    if operator == "Exists":
        return True
    if operator == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(tolerations: Iterable[Mapping[str, Any]], taint: Mapping[str, Any]) -> bool:
    for toleration in tolerations:
        if tolerates(toleration, taint):
            return True
    return False


def first_untolerated(
    taints: Iterable[Mapping[str, Any]], tolerations: list[dict[str, Any]]
) -> Mapping[str, Any] | None:
    for taint in taints:
        if not tolerated(tolerations, taint):
            return taint
    return None


def describe(taint: Mapping[str, Any]) -> str:
    """The `{key: value}` form a FailedScheduling message shows."""
    return f"{{{taint.get('key') or ''}: {taint.get('value') or ''}}}"
