"""LabelSelector rules (upstream ValidateLabelSelector) and matching against labels."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.api.validation import field, meta

_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate(selector: Any, path: str) -> list[errors.Cause]:
    if not isinstance(selector, dict):
        return []
    causes = meta.labels(field.join(path, "matchLabels"), selector.get("matchLabels"))
    for i, req in enumerate(selector.get("matchExpressions") or []):
        causes += _requirement(req, field.index(field.join(path, "matchExpressions"), i))
    return causes


def _requirement(req: dict[str, Any], path: str) -> list[errors.Cause]:
    op, values = req.get("operator"), req.get("values") or []
    causes: list[errors.Cause] = []
    if op in ("In", "NotIn") and not values:
        causes.append(field.required(field.join(path, "values"),
                                     "must be specified when `operator` is 'In' or 'NotIn'"))
    elif op in ("Exists", "DoesNotExist") and values:
        causes.append(field.forbidden(field.join(path, "values"),
                                      "may not be specified when `operator` is 'Exists' or "
                                      "'DoesNotExist'"))
    elif op and op not in _OPERATORS:
        causes.append(field.invalid(field.join(path, "operator"), op,
                                    "not a valid selector operator"))
    return causes + meta.labels(field.join(path, "key"), {req.get("key") or "": ""}) \
        if req.get("key") else causes


def is_empty(selector: Any) -> bool:
    return not selector or not (selector.get("matchLabels") or selector.get("matchExpressions"))


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether labels satisfy a LabelSelector (an empty selector matches everything)."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for req in selector.get("matchExpressions") or []:
        key, op, values = req.get("key"), req.get("operator"), req.get("values") or []
        present = key in labels
        if op == "In" and (not present or labels[key] not in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if (op == "Exists") != present and op in ("Exists", "DoesNotExist"):
            return False
    return True
