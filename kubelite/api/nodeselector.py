"""v1.NodeSelector matching: the terms of required node affinity and preferences (the
scheduler's plugins and the DaemonSet controller share it).

Terms are ORed, the expressions and fields inside a term ANDed. A term with neither
expressions nor fields matches no node, like upstream's nodeaffinity helper.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

Labels = Mapping[str, str]


class Node(Protocol):
    """What matching reads of a node (the scheduler's NodeInfo has both)."""
    @property
    def labels(self) -> Labels: ...
    @property
    def name(self) -> str: ...
_REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


@dataclass(frozen=True, slots=True)
class Required:
    """What a node must satisfy: all nodeSelector labels and (if any) one affinity term."""

    node_selector: dict[str, str]
    terms: list[dict[str, Any]] | None

    def matches(self, node: Node) -> bool:
        labels = node.labels
        for key, value in self.node_selector.items():
            if labels.get(key) != value:
                return False
        return self.terms is None or matches_terms(self.terms, labels, node.name)


def required_of(spec: dict[str, Any]) -> Required:
    node_affinity = (spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = node_affinity.get(_REQUIRED)
    terms = None if required is None else (required.get("nodeSelectorTerms") or [])
    return Required(spec.get("nodeSelector") or {}, terms)


def matches_terms(terms: list[dict[str, Any]], labels: Labels, node_name: str) -> bool:
    """True when any term matches the node."""
    for term in terms:
        if matches_term(term, labels, node_name):
            return True
    return False


def matches_term(term: Mapping[str, Any], labels: Labels, node_name: str) -> bool:
    expressions = term.get("matchExpressions") or ()
    fields = term.get("matchFields") or ()
    if not expressions and not fields:
        return False
    for expr in expressions:
        if not _matches_expression(expr, labels):
            return False
    for field in fields:
        if not _matches_field(field, node_name):
            return False
    return True


def _matches_expression(expr: Mapping[str, Any], labels: Labels) -> bool:
    key, op, values = expr["key"], expr["operator"], expr.get("values") or ()
    present = key in labels
    if op == "In":
        return present and labels[key] in values
    if op == "NotIn":
        return not present or labels[key] not in values
    if op == "Exists":
        return present
    if op == "DoesNotExist":
        return not present
    if op in ("Gt", "Lt"):
        return present and _compare(op, labels[key], values)
    raise ValueError(f"{op!r} is not a valid node selector operator")


def _compare(op: str, label: str, values: Any) -> bool:
    try:
        have, want = int(label), int(values[0])
    except (ValueError, IndexError):
        return False
    return have > want if op == "Gt" else have < want


def _matches_field(field: Mapping[str, Any], node_name: str) -> bool:
    if field.get("key") != "metadata.name":
        return False
    op, values = field["operator"], field.get("values") or ()
    if op == "In":
        return node_name in values
    if op == "NotIn":
        return node_name not in values
    raise ValueError(f"{op!r} is not a valid node field selector operator")


def field_node_names(terms: list[dict[str, Any]]) -> frozenset[str] | None:
    """Node names every term pins with `metadata.name In`, or None when a term does not."""
    names: set[str] = set()
    for term in terms:
        pinned = None
        for field in term.get("matchFields") or ():
            if field.get("key") == "metadata.name" and field.get("operator") == "In":
                values = set(field.get("values") or ())
                pinned = values if pinned is None else pinned & values
        if pinned is None:
            return None
        names |= pinned
    return frozenset(names)
