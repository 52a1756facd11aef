"""metadata.managedFields: decoding, encoding, manager identities and apply conflicts.

Entries are keyed by their manager identity as upstream builds it: manager, operation,
subresource, and the apiVersion for `Update` entries only (one applier owns one set across
versions). Encoding sorts entries like upstream: Apply before Update, then by time, manager,
apiVersion, subresource. At most `MAX_UPDATE_MANAGERS` Update entries are kept; older ones
fold into "ancient-changes".
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from kubelite.api import errors
from kubelite.api.apply import fieldset

APPLY, UPDATE = "Apply", "Update"
MAX_UPDATE_MANAGERS = 10
ANCIENT = "ancient-changes"


@dataclass
class Entry:
    """One manager's owned fields."""

    manager: str
    operation: str
    api_version: str
    fields: fieldset.FieldSet
    subresource: str = ""
    time: str | None = None

    @property
    def identity(self) -> str:
        return identity(self.manager, self.operation, self.api_version, self.subresource)


Managers = dict[str, Entry]


def identity(manager: str, operation: str, api_version: str, subresource: str = "") -> str:
    """The manager key, spelled as upstream's JSON identifier so sorting matches."""
    parts = [f'"manager":{fieldset.wire_json(manager)}', f'"operation":{fieldset.wire_json(operation)}']
    if operation == UPDATE:
        parts.append(f'"apiVersion":{fieldset.wire_json(api_version)}')
    if subresource:
        parts.append(f'"subresource":{fieldset.wire_json(subresource)}')
    return "{" + ",".join(parts) + "}"


def decode(entries: Any) -> Managers:
    """The managers of a managedFields list; ValueError when an entry is malformed."""
    out: Managers = {}
    if entries is None:
        return out
    if not isinstance(entries, list):
        raise ValueError("managedFields must be a list")  # noqa: TRY004 - malformed data
    for i, raw in enumerate(entries):
        entry = _decode_entry(raw, i)
        out[entry.identity] = entry
    return out


def _decode_entry(raw: Any, i: int) -> Entry:
    if not isinstance(raw, dict):
        raise ValueError(f"managed fields entry {i} must be an object")  # noqa: TRY004 - malformed data
    operation = raw.get("operation")
    if operation not in (APPLY, UPDATE):
        raise ValueError("operation must be `Apply` or `Update`")
    if not raw.get("apiVersion"):
        raise ValueError("apiVersion must not be empty")
    kind = raw.get("fieldsType") or ""
    if kind != "FieldsV1":
        raise ValueError(f"missing fieldsType in managed fields entry {i}" if not kind
                         else f'invalid fieldsType "{kind}" in managed fields entry {i}')
    return Entry(
        manager=str(raw.get("manager") or ""), operation=operation, api_version=raw["apiVersion"],
        fields=fieldset.from_fields_v1(raw.get("fieldsV1") or {}),
        subresource=str(raw.get("subresource") or ""), time=raw.get("time"),
    )


def is_reset(entries: Any) -> bool:
    """`managedFields: []` (or one empty entry) in a request clears tracking, as upstream."""
    return isinstance(entries, list) and (entries == [] or entries == [{}])


def epoch(time: str | None) -> int:
    if not time:
        return 0
    try:
        return int(datetime.datetime.fromisoformat(time).timestamp())
    except ValueError:
        return 0


def encode(managers: Managers) -> list[dict[str, Any]]:
    """The managedFields list, sorted like upstream; empty sets are left out."""
    live = [e for e in managers.values() if e.fields]
    live.sort(key=lambda e: (e.operation, epoch(e.time), e.manager, e.api_version, e.subresource))
    return [_encode_entry(e) for e in live]


def _encode_entry(e: Entry) -> dict[str, Any]:
    out: dict[str, Any] = {"manager": e.manager, "operation": e.operation, "apiVersion": e.api_version}
    if e.time:
        out["time"] = e.time
    out["fieldsType"] = "FieldsV1"
    out["fieldsV1"] = fieldset.to_fields_v1(e.fields)
    if e.subresource:
        out["subresource"] = e.subresource
    return out


def cap_updaters(managers: Managers, limit: int = MAX_UPDATE_MANAGERS) -> None:
    """Fold the oldest Update entries into one "ancient-changes" entry per apiVersion."""
    updaters = sorted((e for e in managers.values() if e.operation == UPDATE),
                      key=lambda e: (epoch(e.time), e.identity))
    excess = len(updaters) - limit
    first: dict[str, Entry] = {}
    for e in updaters:
        if excess <= 0:
            break
        if e.api_version not in first:
            first[e.api_version] = e
            continue
        bucket_id = identity(ANCIENT, UPDATE, e.api_version)
        bucket = managers.get(bucket_id)
        if bucket is None:
            seed = first[e.api_version]
            del managers[seed.identity]
            bucket = Entry(ANCIENT, UPDATE, e.api_version, set(seed.fields), time=seed.time)
            managers[bucket_id] = bucket
        bucket.fields |= e.fields
        bucket.time = e.time
        del managers[e.identity]
        excess -= 1


def describe(e: Entry) -> str:
    """A manager as conflict messages name it: `"kubectl"`, `"x" using apps/v1`."""
    text = fieldset.wire_json(e.manager)
    if e.subresource:
        text += f" with subresource {fieldset.wire_json(e.subresource)}"
    if e.operation == UPDATE:
        text += f" using {e.api_version}"
    return text


class ApplyConflict(errors.Conflict):
    """409 from an apply that would take fields other managers own (upstream's shape:
    no name/kind in details, one FieldManagerConflict cause per field)."""

    def __init__(self, message: str, causes: list[errors.Cause]) -> None:
        errors.APIError.__init__(self, message, 409, "Conflict", causes=causes)


def conflict_error(conflicts: dict[str, fieldset.FieldSet], managers: Managers) -> ApplyConflict:
    causes: list[errors.Cause] = []
    lines: list[str] = []
    for ident in sorted(conflicts):
        who = describe(managers[ident])
        paths = [fieldset.path_string(p) for p in fieldset.iterate(conflicts[ident])]
        causes += [errors.Cause(p, f"conflict with {who}", "FieldManagerConflict") for p in paths]
        lines += [f"conflicts with {who}:"] + [f"- {p}" for p in paths]
    if len(causes) == 1:
        message = f"Apply failed with 1 conflict: {causes[0].message}: {causes[0].field}"
    else:
        message = f"Apply failed with {len(causes)} conflicts: " + "\n".join(lines)
    return ApplyConflict(message, causes)
