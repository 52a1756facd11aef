"""The JSONPath subset CRDs use for additionalPrinterColumns and selectableFields.

Supported: `.field`, `['field.with.dots']`, `[n]` (negative counts from the end),
`[a:b]` slices, `[*]` / `.*` wildcards, `..field` recursive descent, and filters
`[?(@.path OP literal)]` with ==, !=, <, <=, >, >= or bare `[?(@.path)]` existence.
`find` returns every match in document order; missing keys give no match (upstream
evaluates with AllowMissingKeys). An optional surrounding `{...}` is accepted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Step = Callable[[Any], Iterator[Any]]

_NAME = re.compile(r"[A-Za-z0-9_$-]+|\*")
_FILTER = re.compile(r"\?\(\s*@((?:\.[A-Za-z0-9_$-]+|\[[^\]]*\])*)\s*(?:(==|!=|<=|>=|<|>)\s*(.+?))?\s*\)$")


class JSONPathError(ValueError):
    """A path outside the supported subset."""


@dataclass(frozen=True)
class Path:
    steps: tuple[Step, ...]
    text: str

    def find(self, obj: Any) -> list[Any]:
        results = [obj]
        for step in self.steps:
            results = [out for cur in results for out in step(cur)]
        return results


def compile(text: str) -> Path:
    """Compile a path; raise JSONPathError when it is outside the subset."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1].strip()
    body = body.removeprefix("$")
    steps: list[Step] = []
    i = 0
    while i < len(body):
        i = _next_step(body, i, steps)
    return Path(tuple(steps), text)


def _next_step(body: str, i: int, steps: list[Step]) -> int:
    if body.startswith("..", i):
        m = _NAME.match(body, i + 2)
        if not m:
            raise JSONPathError(f"unrecognized path {body!r}")
        steps.append(_recursive(m.group()))
        return m.end()
    if body[i] == ".":
        m = _NAME.match(body, i + 1)
        if not m:
            raise JSONPathError(f"unrecognized path {body!r}")
        steps.append(_wildcard if m.group() == "*" else _field(m.group()))
        return m.end()
    if body[i] == "[":
        end = _closing_bracket(body, i)
        steps.append(_bracket(body[i + 1:end].strip()))
        return end + 1
    raise JSONPathError(f"unrecognized path {body!r}")


def _closing_bracket(body: str, start: int) -> int:
    depth, quote = 0, ""
    for j in range(start, len(body)):
        c = body[j]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return j
    raise JSONPathError(f"unterminated [ in {body!r}")


def _bracket(inner: str) -> Step:
    if inner == "*":
        return _wildcard
    if inner[:1] in "'\"" and inner[-1:] == inner[:1] and len(inner) >= 2:
        return _field(inner[1:-1])
    if re.fullmatch(r"-?\d+", inner):
        return _index(int(inner))
    m = re.fullmatch(r"(-?\d*):(-?\d*)", inner)
    if m:
        lo, hi = (int(x) if x else None for x in m.groups())
        return lambda cur: iter(cur[lo:hi]) if isinstance(cur, list) else iter(())
    f = _FILTER.fullmatch(inner)
    if f:
        return _filter(compile(f.group(1) or ""), f.group(2), f.group(3))
    raise JSONPathError(f"unrecognized subscript [{inner}]")


def _field(name: str) -> Step:
    def step(cur: Any) -> Iterator[Any]:
        if isinstance(cur, dict) and name in cur:
            yield cur[name]
    return step


def _index(n: int) -> Step:
    def step(cur: Any) -> Iterator[Any]:
        if isinstance(cur, list) and -len(cur) <= n < len(cur):
            yield cur[n]
    return step


def _wildcard(cur: Any) -> Iterator[Any]:
    if isinstance(cur, dict):
        yield from cur.values()
    elif isinstance(cur, list):
        yield from cur


def _recursive(name: str) -> Step:
    def step(cur: Any) -> Iterator[Any]:
        if isinstance(cur, dict):
            if name == "*":
                yield from cur.values()
            elif name in cur:
                yield cur[name]
        for child in (cur.values() if isinstance(cur, dict) else cur if isinstance(cur, list) else ()):
            yield from step(child)
    return step


def _literal(text: str) -> Any:
    text = text.strip()
    if text[:1] in "'\"" and text[-1:] == text[:1] and len(text) >= 2:
        return text[1:-1]
    try:
        return json.loads(text)
    except ValueError:
        raise JSONPathError(f"unrecognized literal {text!r}") from None


def _filter(path: Path, op: str | None, raw: str | None) -> Step:
    want = _literal(raw) if raw is not None else None

    def keep(item: Any) -> bool:
        found = path.find(item)
        if op is None:
            return bool(found)
        return any(_compare(v, op, want) for v in found)

    def step(cur: Any) -> Iterator[Any]:
        items = cur if isinstance(cur, list) else cur.values() if isinstance(cur, dict) else ()
        yield from (item for item in items if keep(item))
    return step


def _compare(have: Any, op: str, want: Any) -> bool:
    if op == "==":
        return bool(have == want)
    if op == "!=":
        return bool(have != want)
    try:
        return bool({"<": have < want, "<=": have <= want, ">": have > want, ">=": have >= want}[op])
    except TypeError:
        return False


def text(value: Any) -> str:
    """How a match prints as text (strings bare, booleans lower-case, the rest as JSON)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return str(value)
