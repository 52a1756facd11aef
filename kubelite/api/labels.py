"""Label selectors: the `labelSelector` query string and metav1.LabelSelector objects.

`parse` reads the string form kubectl sends (`a=b,c!=d,e in (x,y),!f`) with the grammar
and error texts of apimachinery's labels.Parse; `from_label_selector` turns a
LabelSelector object (matchLabels + matchExpressions) into the same `Selector`.
Semantics worth remembering: the empty string selects everything; a *missing*
LabelSelector selects nothing (`NOTHING`) while an empty one `{}` selects everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelite.api import errors

EQUALS, DOUBLE_EQUALS, NOT_EQUALS = "=", "==", "!="
IN, NOT_IN, EXISTS, DOES_NOT_EXIST = "in", "notin", "exists", "!"
GREATER_THAN, LESS_THAN = "gt", "lt"
_BINARY = (IN, NOT_IN, EQUALS, DOUBLE_EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)

_NAME_RE = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_SUBDOMAIN_RE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_VALUE_RE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_NAME_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
             "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
             "regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                  "characters, '-' or '.', and must start and end with an alphanumeric character "
                  "(e.g. 'example.com', regex used for validation is "
                  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric characters, "
              "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. "
              "'MyValue',  or 'my_value',  or '12345', regex used for validation is "
              "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')")


class SelectorError(ValueError):
    """A selector that does not parse or validate; callers map it to a 400."""


@dataclass(frozen=True)
class Requirement:
    """One `key op values` term; values are kept sorted as upstream prints them."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op, has = self.operator, self.key in labels
        if op in (IN, EQUALS, DOUBLE_EQUALS):
            return has and labels[self.key] in self.values
        if op in (NOT_IN, NOT_EQUALS):
            return not has or labels[self.key] not in self.values
        if op == EXISTS:
            return has
        if op == DOES_NOT_EXIST:
            return not has
        return has and _compare(op, labels[self.key], self.values[0])

    def __str__(self) -> str:
        op = self.operator
        if op == EXISTS:
            return self.key
        if op == DOES_NOT_EXIST:
            return "!" + self.key
        if op in (IN, NOT_IN):
            return f"{self.key} {op} ({','.join(self.values)})"
        sign = {GREATER_THAN: ">", LESS_THAN: "<"}.get(op, op)
        return f"{self.key}{sign}{self.values[0]}"


def _compare(op: str, have: str, want: str) -> bool:
    try:
        left = int(have)
    except ValueError:
        return False
    right = int(want)
    return left > right if op == GREATER_THAN else left < right


@dataclass(frozen=True)
class Selector:
    """A conjunction of requirements; `nothing` marks the select-nothing selector."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        if self.nothing:
            return False
        have = labels or {}
        return all(r.matches(have) for r in self.requirements)

    def empty(self) -> bool:
        """True when the selector matches every object."""
        return not self.nothing and not self.requirements

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


EVERYTHING = Selector()
NOTHING = Selector(nothing=True)


def requirement(key: str, operator: str, values: list[str] | tuple[str, ...] = ()) -> Requirement:
    """Build a validated requirement (apimachinery NewRequirement)."""
    _check_key(key, "key")
    vals = sorted(set(values))
    if operator in (IN, NOT_IN) and not vals:
        raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
    if operator in (EQUALS, DOUBLE_EQUALS, NOT_EQUALS) and len(vals) != 1:
        raise SelectorError("exact-match compatibility requires one single value")
    if operator in (EXISTS, DOES_NOT_EXIST) and vals:
        raise SelectorError("values set must be empty for exists and does not exist")
    if operator in (GREATER_THAN, LESS_THAN):
        if len(vals) != 1:
            raise SelectorError("for 'Gt', 'Lt' operators, exactly one value is required")
        if not re.fullmatch(r"[-+]?\d+", vals[0]):
            raise SelectorError("for 'Gt', 'Lt' operators, the value must be an integer")
    for i, v in enumerate(vals):
        _check_value(v, f"values[{i}][{key}]")
    return Requirement(key, operator, tuple(vals))


def _check_key(key: str, path: str) -> None:
    problems = qualified_name_errors(key)
    if problems:
        raise SelectorError(f'{path}: Invalid value: "{key}": {"; ".join(problems)}')


def _check_value(value: str, path: str) -> None:
    problems = label_value_errors(value)
    if problems:
        raise SelectorError(f'{path}: Invalid value: "{value}": {"; ".join(problems)}')


def qualified_name_errors(value: str) -> list[str]:
    """Problems with a label key (validation.IsQualifiedName); empty when valid."""
    parts = value.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return ["prefix part must be non-empty"]
        if len(prefix) > 253:
            return ["prefix part must be no more than 253 characters"]
        if not _SUBDOMAIN_RE.fullmatch(prefix):
            return ["prefix part " + _SUBDOMAIN_MSG]
    else:
        return ["a qualified name " + _NAME_MSG + " with an optional DNS subdomain prefix and "
                "'/' (e.g. 'example.com/MyName')"]
    if not name:
        return ["name part must be non-empty"]
    out = []
    if len(name) > 63:
        out.append("name part must be no more than 63 characters")
    if not _NAME_RE.fullmatch(name):
        out.append("name part " + _NAME_MSG)
    return out


def label_value_errors(value: str) -> list[str]:
    """Problems with a label value (validation.IsValidLabelValue); empty when valid."""
    out = []
    if len(value) > 63:
        out.append("must be no more than 63 characters")
    if not _VALUE_RE.fullmatch(value):
        out.append(_VALUE_MSG)
    return out


def parse(text: str) -> Selector:
    """Parse a `labelSelector` string; raise errors.BadRequest when it is malformed."""
    try:
        reqs = _Parser(text).parse()
    except SelectorError as e:
        raise errors.BadRequest(str(e)) from None
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


_EXPRESSION_OPS = {"In": IN, "NotIn": NOT_IN, "Exists": EXISTS, "DoesNotExist": DOES_NOT_EXIST}


def from_label_selector(selector: Mapping[str, Any] | None) -> Selector:
    """metav1.LabelSelectorAsSelector: None selects nothing, `{}` selects everything.

    Raises errors.BadRequest for an operator or key/value that is not valid.
    """
    if selector is None:
        return NOTHING
    try:
        reqs = [requirement(k, EQUALS, [v]) for k, v in (selector.get("matchLabels") or {}).items()]
        for expr in selector.get("matchExpressions") or []:
            op = _EXPRESSION_OPS.get(expr.get("operator", ""))
            if op is None:
                raise SelectorError(f'"{expr.get("operator", "")}" is not a valid label selector '
                                    f"operator")
            reqs.append(requirement(expr.get("key", ""), op, expr.get("values") or []))
    except SelectorError as e:
        raise errors.BadRequest(str(e)) from None
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


def from_set(labels: Mapping[str, str] | None) -> Selector:
    """An equality selector from a plain map (Service and RC `spec.selector`); {} is everything."""
    reqs = [Requirement(k, EQUALS, (v,)) for k, v in (labels or {}).items()]
    return Selector(tuple(sorted(reqs, key=lambda r: r.key)))


def format_labels(labels: Mapping[str, str] | None) -> str:
    """labels.FormatLabels: `k=v,k2=v2` sorted by key, or `<none>`."""
    text = ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))
    return text or "<none>"


def format_label_selector(selector: Mapping[str, Any] | None) -> str:
    """metav1.FormatLabelSelector: the selector's string form, `<none>` or `<error>`."""
    try:
        text = str(from_label_selector(selector))
    except errors.BadRequest:
        return "<error>"
    return text or "<none>"


# -- the string grammar (apimachinery labels.Parse) --------------------------------------

_SPECIAL = set("=!(),><")
_SYMBOLS = {"=": "=", "==": "==", "!=": "!=", "!": "!", "(": "(", ")": ")", ",": ",",
            ">": ">", "<": "<"}
_IDENT, _END = "ident", "end"
_OPS = {"in": IN, "notin": NOT_IN, "=": EQUALS, "==": DOUBLE_EQUALS, "!=": NOT_EQUALS,
        ">": GREATER_THAN, "<": LESS_THAN}


def _lex(text: str) -> list[tuple[str, str]]:
    """Tokens as (kind, literal); `in`/`notin` are keywords only where an operator fits."""
    out, i, n = [], 0, len(text)
    while True:
        while i < n and text[i] in " \t\r\n":
            i += 1
        if i >= n:
            out.append((_END, ""))
            return out
        if text[i] in _SPECIAL:
            j, best = i, ""
            while j < n and text[j] in _SPECIAL:
                j += 1
                if text[i:j] in _SYMBOLS:
                    best = text[i:j]
                elif best:
                    break
            if not best:
                raise SelectorError(f"error expected: keyword found '{text[i:j]}'")
            out.append((best, best))
            i += len(best)
            continue
        j = i
        while j < n and text[j] not in _SPECIAL and text[j] not in " \t\r\n":
            j += 1
        out.append((_IDENT, text[i:j]))
        i = j


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = _lex(text)
        self._pos = 0

    def _peek(self) -> tuple[str, str]:
        return self._tokens[self._pos]

    def _next(self) -> tuple[str, str]:
        tok = self._tokens[self._pos]
        self._pos += 1
        return tok

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self._peek()
            if kind == _END:
                return reqs
            if kind not in (_IDENT, "!"):
                raise SelectorError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self._requirement())
            except SelectorError as e:
                raise SelectorError(f"unable to parse requirement: {e}") from None
            kind, lit = self._next()
            if kind == _END:
                return reqs
            if kind != ",":
                raise SelectorError(f"found '{lit}', expected: ',' or 'end of string'")
            kind, lit = self._peek()
            if kind not in (_IDENT, "!"):
                raise SelectorError(f"found '{lit}', expected: identifier after ','")

    def _requirement(self) -> Requirement:
        kind, key = self._next()
        negated = kind == "!"
        if negated:
            kind, key = self._next()
        if kind != _IDENT:
            raise SelectorError(f"found '{key}', expected: identifier")
        _check_key(key, "key")
        if self._peek()[0] in (_END, ","):
            return requirement(key, DOES_NOT_EXIST if negated else EXISTS)
        if negated:
            raise SelectorError(f"found '{self._peek()[1]}', expected: ',' or 'end of string'")
        kind, lit = self._next()
        op = _OPS.get(lit)
        if op is None or (kind == _IDENT and lit not in ("in", "notin")):
            raise SelectorError(f"found '{lit}', expected: {', '.join(_BINARY)}")
        values = self._values() if op in (IN, NOT_IN) else self._exact()
        return requirement(key, op, values)

    def _exact(self) -> list[str]:
        kind, lit = self._peek()
        if kind in (_END, ","):
            return [""]
        self._next()
        if kind == _IDENT:
            return [lit]
        raise SelectorError(f"found '{lit}', expected: identifier")

    def _values(self) -> list[str]:
        kind, lit = self._next()
        if kind != "(":
            raise SelectorError(f"found '{lit}' expected: '('")
        kind, lit = self._peek()
        if kind == ")":
            self._next()
            return [""]
        if kind not in (_IDENT, ","):
            raise SelectorError(f"found '{lit}', expected: ',', ')' or identifier")
        values = self._identifiers()
        kind, lit = self._next()
        if kind != ")":
            raise SelectorError(f"found '{lit}', expected: ')'")
        return values

    def _identifiers(self) -> list[str]:
        values: list[str] = []
        while True:
            kind, lit = self._next()
            if kind == _IDENT:
                values.append(lit)
                nxt, nlit = self._peek()
                if nxt == ")":
                    return values
                if nxt != ",":
                    raise SelectorError(f"found '{nlit}', expected: ',' or ')'")
            elif kind == ",":
                if not values:
                    values.append("")
                nxt = self._peek()[0]
                if nxt == ")":
                    values.append("")
                    return values
                if nxt == ",":
                    self._next()
                    values.append("")
            else:
                raise SelectorError(f"found '{lit}', expected: ',', or identifier")
