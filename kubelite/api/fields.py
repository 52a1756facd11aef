"""Field selectors: the `fieldSelector` query string and the fields each kind exposes.

`parse` follows apimachinery fields.ParseSelector: terms joined by unescaped commas, each
`field=value`, `field==value` or `field!=value`, with `\\`, `\\,` and `\\=` escapes in
values. `supported(rt)` is the set of field labels a kind accepts (anything else is a
400 "field label not supported"), and `field_set(rt, obj)` extracts their string values
the way upstream's GetAttrs does (booleans as "true"/"false", counts as decimal text).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubelite.api import errors, registry

Obj = dict[str, Any]
Extractor = Callable[[Obj], str]


@dataclass(frozen=True)
class Term:
    field: str
    value: str
    negated: bool = False

    def matches(self, fields: Mapping[str, str]) -> bool:
        return (fields.get(self.field, "") == self.value) != self.negated

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")
        return f"{self.field}{'!=' if self.negated else '='}{escaped}"


@dataclass(frozen=True)
class FieldSelector:
    """A conjunction of terms; the empty selector matches everything."""

    terms: tuple[Term, ...] = ()

    def field_names(self) -> list[str]:
        return [t.field for t in self.terms]

    def empty(self) -> bool:
        return not self.terms

    def matches(self, obj: Obj, rt: registry.ResourceType | None = None) -> bool:
        """Match an object; without `rt` the kind comes from the object's apiVersion/kind."""
        return self.matches_fields(field_set(rt, obj))

    def matches_fields(self, fields: Mapping[str, str]) -> bool:
        return all(t.matches(fields) for t in self.terms)

    def exact(self, field: str) -> str | None:
        """The value `field` must equal, when the selector pins it (e.g. metadata.name)."""
        for t in self.terms:
            if t.field == field and not t.negated:
                return t.value
        return None

    def __str__(self) -> str:
        return ",".join(str(t) for t in self.terms)


def parse(text: str) -> FieldSelector:
    """Parse a `fieldSelector` string; raise errors.BadRequest when it is malformed."""
    terms = []
    for part in sorted(_split_terms(text)):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise errors.BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, raw = split
        terms.append(Term(field, _unescape(raw), negated=op == "!="))
    return FieldSelector(tuple(terms))


def _split_terms(text: str) -> list[str]:
    if not text:
        return []
    terms, start, escaped = [], 0, False
    for i, c in enumerate(text):
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


def _split_term(term: str) -> tuple[str, str, str] | None:
    for i in range(len(term)):
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op):]
    return None


def _unescape(value: str) -> str:
    out, escaped = [], False
    for c in value:
        if escaped:
            if c not in "\\,=":
                raise errors.BadRequest(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in ",=":
            raise errors.BadRequest(f"invalid field selector: unescaped character in value: {c!r}")
        else:
            out.append(c)
    if escaped:
        raise errors.BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


# -- what each kind exposes ---------------------------------------------------------------

def _path(*keys: str, default: str = "") -> Extractor:
    def get(obj: Obj) -> str:
        cur: Any = obj
        for k in keys:
            cur = cur.get(k) if isinstance(cur, dict) else None
        return _text(cur, default)
    return get


def _text(value: Any, default: str = "") -> str:
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _pod_ip(obj: Obj) -> str:
    status = obj.get("status") or {}
    ips = status.get("podIPs") or []
    return str(ips[0].get("ip", "")) if ips else str(status.get("podIP") or "")


def _involved(key: str) -> Extractor:
    def get(obj: Obj) -> str:
        ref = obj.get("involvedObject") or obj.get("regarding") or {}
        return _text(ref.get(key))
    return get


def _event_source(obj: Obj) -> str:
    source = obj.get("source") or obj.get("deprecatedSource") or {}
    return str(source.get("component") or obj.get("reportingComponent")
               or obj.get("reportingController") or "")


def _reporting(obj: Obj) -> str:
    return str(obj.get("reportingComponent") or obj.get("reportingController") or "")


_EVENT: dict[str, Extractor] = {
    **{f"involvedObject.{k}": _involved(k) for k in
       ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")},
    "reason": _path("reason"), "reportingComponent": _reporting, "source": _event_source,
    "type": _path("type"),
}

# (group, kind) -> field label -> extractor, beyond metadata.name / metadata.namespace.
_KIND_FIELDS: dict[tuple[str, str], dict[str, Extractor]] = {
    ("", "Pod"): {
        "spec.nodeName": _path("spec", "nodeName"), "spec.host": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _path("spec", "hostNetwork", default="false"),
        "status.phase": _path("status", "phase"), "status.podIP": _pod_ip,
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    ("", "Event"): _EVENT,
    ("events.k8s.io", "Event"): _EVENT,
    ("", "Secret"): {"type": _path("type")},
    ("", "Node"): {"spec.unschedulable": _path("spec", "unschedulable", default="false")},
    ("", "Namespace"): {"status.phase": _path("status", "phase")},
    ("", "ReplicationController"): {"status.replicas": _path("status", "replicas", default="0")},
    ("apps", "ReplicaSet"): {"status.replicas": _path("status", "replicas", default="0")},
    ("batch", "Job"): {"status.successful": _path("status", "succeeded", default="0")},
    ("", "Service"): {"spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")},
}


def _kind_fields(rt: registry.ResourceType | None, obj: Obj) -> dict[str, Extractor]:
    if rt is not None and rt.crd is not None:
        return _crd_fields(rt.crd)
    if rt is not None:
        return _KIND_FIELDS.get((rt.group, rt.kind), {})
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return _KIND_FIELDS.get((group, str(obj.get("kind", ""))), {})


def _crd_fields(version: Mapping[str, Any]) -> dict[str, Extractor]:
    from kubelite.api.printers import jsonpath

    out: dict[str, Extractor] = {}
    for entry in version.get("selectableFields") or []:
        path = str(entry.get("jsonPath", ""))
        out[path.lstrip(".")] = _first_match(jsonpath.compile(path))
    return out


def _first_match(path: Any) -> Extractor:
    def get(obj: Obj) -> str:
        return _text(next(iter(path.find(obj)), None))
    return get


def supported(rt: registry.ResourceType) -> set[str]:
    """The field labels `rt` accepts in a fieldSelector."""
    return {"metadata.name", "metadata.namespace"} | set(_kind_fields(rt, {}))


def validate(rt: registry.ResourceType, selector: FieldSelector) -> None:
    """Raise errors.BadRequest for the first field label `rt` does not support."""
    allowed = supported(rt)
    for name in selector.field_names():
        if name not in allowed:
            raise errors.BadRequest(f"field label not supported: {name}")


def field_set(rt: registry.ResourceType | None, obj: Obj) -> dict[str, str]:
    """Every selectable field of `obj` as text (upstream's GetAttrs field set)."""
    meta = obj.get("metadata") or {}
    out = {"metadata.name": str(meta.get("name", "")),
           "metadata.namespace": str(meta.get("namespace", ""))}
    for name, get in _kind_fields(rt, obj).items():
        out[name] = get(obj)
    return out
