"""Field errors worded as upstream's `field.Error` so users see the messages they know.

Each builder returns an `errors.Cause` whose `message` is upstream's ErrorBody (the text
after "<field>: ") and whose `reason` is the upstream cause type.
"""

from __future__ import annotations

import json
from typing import Any

from kubelite.api import errors

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
TYPE_INVALID = "FieldValueTypeInvalid"

IMMUTABLE = "field is immutable"


def show(value: Any) -> str:
    """A bad value as Go's field errors print it: numbers and bools bare, strings quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        inner = ", ".join(f"{show(k)}:{show(v)}" for k, v in sorted(value.items()))
        return f"map[string]string{{{inner}}}"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "[]string{" + ", ".join(show(v) for v in value) + "}"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _with_detail(body: str, detail: str) -> str:
    return f"{body}: {detail}" if detail else body


def required(path: str, detail: str = "") -> errors.Cause:
    return errors.Cause(path, _with_detail("Required value", detail), REQUIRED)


def invalid(path: str, value: Any, detail: str = "") -> errors.Cause:
    return errors.Cause(path, _with_detail(f"Invalid value: {show(value)}", detail), INVALID)


def type_invalid(path: str, value: Any, detail: str = "") -> errors.Cause:
    return errors.Cause(path, _with_detail(f"Invalid value: {show(value)}", detail), TYPE_INVALID)


def not_supported(path: str, value: Any, supported: list[str] | tuple[str, ...]) -> errors.Cause:
    detail = "supported values: " + ", ".join(json.dumps(v) for v in supported) if supported else ""
    return errors.Cause(path, _with_detail(f"Unsupported value: {show(value)}", detail),
                        NOT_SUPPORTED)


def duplicate(path: str, value: Any) -> errors.Cause:
    return errors.Cause(path, f"Duplicate value: {show(value)}", DUPLICATE)


def forbidden(path: str, detail: str) -> errors.Cause:
    return errors.Cause(path, _with_detail("Forbidden", detail), FORBIDDEN)


def too_long(path: str, max_length: int) -> errors.Cause:
    """Upstream `TooLongMaxLength`: the value itself is left out."""
    detail = f"may not be longer than {max_length}" if max_length >= 0 else "value is too long"
    return errors.Cause(path, f"Too long: {detail}", TOO_LONG)


def too_long_bytes(path: str, max_bytes: int) -> errors.Cause:
    """Upstream `TooLong` (sizes in bytes, e.g. annotations)."""
    return errors.Cause(path, f"Too long: must have at most {max_bytes} bytes", TOO_LONG)


def too_many(path: str, actual: int, maximum: int) -> errors.Cause:
    return errors.Cause(path, f"Too many: {actual}: must have at most {maximum} items", TOO_MANY)


def immutable(path: str, value: Any) -> errors.Cause:
    return invalid(path, value, IMMUTABLE)


def join(path: str, child: str) -> str:
    """`spec` + `replicas` -> `spec.replicas`; the root has an empty path."""
    return f"{path}.{child}" if path else child


def index(path: str, i: int) -> str:
    return f"{path}[{i}]"


def key(path: str, k: str) -> str:
    return f"{path}[{k}]"


def non_negative(path: str, value: Any) -> list[errors.Cause]:
    """Upstream ValidateNonnegativeField."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []


def immutable_if_changed(path: str, new: Any, old: Any) -> list[errors.Cause]:
    return [] if new == old else [immutable(path, new)]
