"""Minimal metav1.LabelSelector matching for the scheduler's affinity and spreading.

A nil selector selects nothing and an empty one selects everything, as
LabelSelectorAsSelector does. Private to the scheduler until a shared api module
offers the same; kept tiny on purpose.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Labels = Mapping[str, str]
_Requirement = Callable[[Labels], bool]


@dataclass(frozen=True, slots=True)
class Selector:
    """A conjunction of requirements; `nothing` short-circuits to no match."""

    requirements: tuple[_Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Labels) -> bool:
        if self.nothing:
            return False
        for requirement in self.requirements:
            if not requirement(labels):
                return False
        return True

    def is_everything(self) -> bool:
        return not self.nothing and not self.requirements


NOTHING = Selector(nothing=True)
EVERYTHING = Selector()


def from_label_selector(selector: Mapping[str, Any] | None) -> Selector:
    """Build a Selector; ValueError on an unknown operator."""
    if selector is None:
        return NOTHING
    requirements: list[_Requirement] = []
    for key, value in sorted((selector.get("matchLabels") or {}).items()):
        requirements.append(_equals(key, value))
    for expr in selector.get("matchExpressions") or ():
        requirements.append(requirement(expr["key"], expr["operator"], expr.get("values") or ()))
    return Selector(tuple(requirements))


def requirement(key: str, operator: str, values: Any) -> _Requirement:
    """One label requirement (In, NotIn, Exists, DoesNotExist)."""
    wanted = frozenset(values)
    if operator == "In":
        return lambda labels: key in labels and labels[key] in wanted
    if operator == "NotIn":
        return lambda labels: key not in labels or labels[key] not in wanted
    if operator == "Exists":
        return lambda labels: key in labels
    if operator == "DoesNotExist":
        return lambda labels: key not in labels
    raise ValueError(f"{operator!r} is not a valid label selector operator")


def _equals(key: str, value: str) -> _Requirement:
    return lambda labels: labels.get(key) == value
