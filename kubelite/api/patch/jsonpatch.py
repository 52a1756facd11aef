"""RFC 6902 JSON patch, as the apiserver applies `application/json-patch+json`.

Behaviour follows the library upstream uses (evanphx/json-patch v4), leniencies
included, because clients rely on them: `replace` of a missing object member adds it
(`kubectl rollout undo` replaces /metadata/annotations even when there are none);
negative array indices count from the end; `-` appends; a `test` of a missing member
against null passes; `copy` from a missing member copies null.

Copy on write: containers on a written path are copied once (tracked by identity), so
a patch of many operations on one object costs one copy of the touched path.
"""

from __future__ import annotations

import re
from typing import Any

from kubelite.api import errors
from kubelite.api import patch as patch_errors

MAX_OPERATIONS = 10000
_INDEX = re.compile(r"[+-]?[0-9]+")


class _OpError(Exception):
    """An operation that cannot apply; becomes a 422 for the whole patch."""


def apply(doc: dict[str, Any], ops: Any) -> dict[str, Any]:
    """The document after every operation in order; all or nothing.

    Malformed patch (not a list of objects) -> BadRequest; too many operations ->
    RequestEntityTooLarge; an operation that does not apply -> Unprocessable (422).
    """
    _check_shape(ops)
    state = _Document(doc)
    try:
        for op in ops or ():
            _apply_op(state, op)
    except _OpError as e:
        raise patch_errors.Unprocessable(str(e)) from None
    if not isinstance(state.root, dict):
        raise patch_errors.Unprocessable("the patched document is not an object")
    return state.root if state.root is not doc else dict(doc)


def _check_shape(ops: Any) -> None:
    if ops is None:
        return
    if not isinstance(ops, list):
        raise errors.BadRequest(
            f"json: cannot unmarshal {_json_kind(ops)} into Go value of type jsonpatch.Patch")
    for op in ops:
        if op is not None and not isinstance(op, dict):
            raise errors.BadRequest(
                f"json: cannot unmarshal {_json_kind(op)} into Go value of type jsonpatch.Operation")
    if len(ops) > MAX_OPERATIONS:
        raise errors.RequestEntityTooLarge(
            f"The allowed maximum operations in a JSON patch is {MAX_OPERATIONS}, got {len(ops)}")


def _json_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "bool"
    return "string" if isinstance(value, str) else "number"


def _apply_op(state: _Document, op: dict[str, Any] | None) -> None:
    kind = (op or {}).get("op")
    handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is None:
        raise _OpError(f"Unexpected kind: {kind if isinstance(kind, str) else 'unknown'}")
    assert op is not None
    handler(state, op)


def _string_field(op: dict[str, Any], name: str, kind: str) -> str:
    value = op.get(name)
    if not isinstance(value, str):
        raise _OpError(f"{kind} operation: missing or invalid {name} field")
    return value


def _add(state: _Document, op: dict[str, Any]) -> None:
    path = _string_field(op, "path", "add")
    container, key = state.parent(path, "add", write=True)
    _insert(container, key, op.get("value"), path)


def _remove(state: _Document, op: dict[str, Any]) -> None:
    path = _string_field(op, "path", "remove")
    container, key = state.parent(path, "remove", write=True)
    _delete(container, key, path)


def _replace(state: _Document, op: dict[str, Any]) -> None:
    path = _string_field(op, "path", "replace")
    value = op.get("value")
    if path == "":
        if not isinstance(value, (dict, list)):
            raise _OpError("replace operation value must be object or array")
        state.root = value
        return
    container, key = state.parent(path, "replace", write=True)
    if isinstance(container, dict):
        container[key] = value  # upstream adds a missing member rather than failing
    else:
        container[_index(container, key, path)] = value


def _move(state: _Document, op: dict[str, Any]) -> None:
    source = _string_field(op, "from", "move")
    container, key = state.parent(source, "move", write=True)
    value = _get(container, key, source)
    _delete(container, key, source)
    path = _string_field(op, "path", "move")
    container, key = state.parent(path, "move", write=True)
    _insert(container, key, value, path)


def _copy(state: _Document, op: dict[str, Any]) -> None:
    source = _string_field(op, "from", "copy")
    container, key = state.parent(source, "copy", write=False)
    value = _get(container, key, source)
    path = _string_field(op, "path", "copy")
    container, key = state.parent(path, "copy", write=True)
    _insert(container, key, _deep_copy(value), path)


def _test(state: _Document, op: dict[str, Any]) -> None:
    path = _string_field(op, "path", "test")
    expected = op.get("value")
    if path == "":
        actual = state.root
    else:
        container, key = state.parent(path, "test", write=False)
        actual = _get(container, key, path)
    if not json_equal(actual, expected):
        raise _OpError(f"testing value {path} failed: test failed")


_HANDLERS = {"add": _add, "remove": _remove, "replace": _replace, "move": _move,
             "copy": _copy, "test": _test}


class _Document:
    """The document being patched, with the set of containers this patch owns."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self._owned: dict[int, Any] = {}  # id -> container; holding it keeps the id unique

    def _own(self, node: Any) -> Any:
        if id(node) in self._owned:
            return node
        node = dict(node) if isinstance(node, dict) else list(node)
        self._owned[id(node)] = node
        return node

    def parent(self, path: str, kind: str, *, write: bool) -> tuple[Any, str]:
        """The container holding `path`'s last token, and that token, unescaped.

        With `write`, every container from the root down to it is this patch's own copy.
        """
        tokens = path.split("/")
        if len(tokens) < 2:  # the first token is ignored, as upstream does
            raise _OpError(f'{kind} operation does not apply: doc is missing path: "{path}"')
        node = self._own(self.root) if write else self.root
        if write:
            self.root = node
        for token in tokens[1:-1]:
            slot, child = _child(node, _unescape(token))
            if not isinstance(child, (dict, list)):
                raise _OpError(f'{kind} operation does not apply: doc is missing path: "{path}"')
            if write:
                child = self._own(child)
                node[slot] = child
            node = child
        return node, _unescape(tokens[-1])


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~") if "~" in token else token


def _child(node: Any, token: str) -> tuple[Any, Any]:
    if isinstance(node, dict):
        return token, node.get(token)
    try:
        index = _index(node, token, token)
    except _OpError:
        return None, None
    return index, node[index]


def _index(items: list[Any], token: str, path: str, *, extra: int = 0) -> int:
    """An existing index (or, with extra=1, an insertion point); negatives count back."""
    if not _INDEX.fullmatch(token):
        raise _OpError(f"value was not a proper array index: {token!r} (path {path})")
    index, size = int(token), len(items) + extra
    if index < 0:
        index += size
    if not 0 <= index < size:
        raise _OpError(f"Unable to access invalid index: {token} (path {path})")
    return index


def _get(container: Any, key: str, path: str) -> Any:
    if isinstance(container, dict):
        return container.get(key)
    return container[_index(container, key, path)]


def _insert(container: Any, key: str, value: Any, path: str) -> None:
    if isinstance(container, dict):
        container[key] = value
    elif key == "-":
        container.append(value)
    else:
        container.insert(_index(container, key, path, extra=1), value)


def _delete(container: Any, key: str, path: str) -> None:
    if isinstance(container, dict):
        if key not in container:
            raise _OpError(f"Unable to remove nonexistent key: {key} (path {path})")
        del container[key]
    else:
        del container[_index(container, key, path)]


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: true, 1 and 1.0 are three different values; order matters in lists."""
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(json_equal(v, b[k]) for k, v in a.items()))
    if isinstance(a, list):
        return (isinstance(b, list) and len(a) == len(b)
                and all(json_equal(x, y) for x, y in zip(a, b)))
    return type(a) is type(b) and a == b
