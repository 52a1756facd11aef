"""The protobuf field tables, parsed once into lookups by message and by kind.

Each descriptors_* module holds `MESSAGES: {message name: spec}`, where a spec lists the
fields as "NUMBER NAME TYPE" separated by "; ":

- NAME is the JSON name; "..." marks a Go-inline struct whose fields land in the parent
  (Volume's VolumeSource, Probe's ProbeHandler).
- TYPE is a scalar code, a special type or a message name, optionally wrapped as `[T]`
  (repeated) or `{T}` (map with string keys).
  Scalars: s string, i int32/int64, b bool, y bytes (base64 in JSON).
  Specials: Time, MicroTime, Quantity, IntOrString, FieldsV1, RawExtension.
- A scalar's suffix says when JSON carries it, mirroring the Go field:
  none  = `omitempty` value: a zero on the wire is absent in JSON;
  `?`   = pointer: present in JSON exactly when present on the wire, zero included;
  `!`   = no omitempty: always present in JSON, zero when missing from the wire.
  Messages and specials are present in JSON exactly when present on the wire (Go writes
  non-pointer structs always), except an empty Time, which is Go's zero time (JSON null)
  and is left out.

Each module also names its GROUP_VERSION and the top-level KINDS it serves.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import ModuleType

from kubelite.api.protobuf import (
    descriptors_apps,
    descriptors_authorization,
    descriptors_autoscaling,
    descriptors_batch,
    descriptors_core,
    descriptors_core_pod,
    descriptors_core_volume,
    descriptors_meta,
    descriptors_networking,
    descriptors_policy,
    descriptors_rbac,
    descriptors_scheduling,
)

SCALARS = frozenset({"s", "i", "b", "y"})
SPECIALS = frozenset({"Time", "MicroTime", "Quantity", "IntOrString", "FieldsV1", "RawExtension"})
INLINE = "..."
OMITEMPTY, POINTER, ALWAYS = "omitempty", "pointer", "always"
SINGLE, REPEATED, MAP = "single", "repeated", "map"
_SUFFIX = {"?": POINTER, "!": ALWAYS}

_MODULES: tuple[ModuleType, ...] = (
    descriptors_meta,
    descriptors_core,
    descriptors_core_pod,
    descriptors_core_volume,
    descriptors_apps,
    descriptors_batch,
    descriptors_networking,
    descriptors_policy,
    descriptors_scheduling,
    descriptors_rbac,
    descriptors_authorization,
    descriptors_autoscaling,
)


@dataclass(frozen=True)
class Field:
    """One field of a message: where it sits on the wire and how it looks in JSON."""

    number: int
    name: str
    type: str
    label: str = SINGLE
    presence: str = OMITEMPTY

    @property
    def inline(self) -> bool:
        return self.name == INLINE

    @property
    def is_message(self) -> bool:
        return self.type not in SCALARS and self.type not in SPECIALS


@dataclass(frozen=True)
class Schema:
    """Every message's fields by number, and the message each (apiVersion, kind) uses."""

    messages: dict[str, dict[int, Field]]
    kinds: dict[tuple[str, str], str]

    def kind_message(self, api_version: str, kind: str) -> str | None:
        """The message for a top-level object; DeleteOptions is accepted in every group."""
        found = self.kinds.get((api_version, kind))
        if found is None and kind == "DeleteOptions":
            return "DeleteOptions"
        return found


def parse_field(text: str) -> Field:
    """Parse one "NUMBER NAME TYPE" entry of a spec."""
    number, name, type_ = text.split()
    label = SINGLE
    if type_[0] == "[" and type_[-1] == "]":
        label, type_ = REPEATED, type_[1:-1]
    elif type_[0] == "{" and type_[-1] == "}":
        label, type_ = MAP, type_[1:-1]
    presence = OMITEMPTY
    if type_[-1] in _SUFFIX:
        presence, type_ = _SUFFIX[type_[-1]], type_[:-1]
    return Field(int(number), name, type_, label, presence)


def parse_message(spec: str) -> dict[int, Field]:
    fields = [parse_field(part) for part in spec.split(";") if part.strip()]
    by_number = {f.number: f for f in fields}
    if len(by_number) != len(fields):
        raise ValueError(f"duplicate field number in {spec!r}")
    return by_number


def build(modules: tuple[ModuleType, ...] = _MODULES) -> Schema:
    """Build the lookups; a message or kind defined twice raises."""
    messages: dict[str, dict[int, Field]] = {}
    kinds: dict[tuple[str, str], str] = {}
    for module in modules:
        for name, spec in module.MESSAGES.items():
            if name in messages:
                raise ValueError(f"message {name} defined twice")
            messages[name] = parse_message(spec)
        for kind in module.KINDS:
            kinds[(module.GROUP_VERSION, kind)] = kind
    return Schema(messages, kinds)


@functools.cache
def get() -> Schema:
    """The schema of every served kind, built on first use."""
    return build()
