"""The routing table of one entry point: which backend serves a (host, path), as upstream
defines Ingress matching. Pure data and functions, no I/O.

Matching, in the order upstream documents it:
- Host: a rule's exact host wins over a wildcard (`*.example.com` matches exactly one extra
  label: `a.example.com`, not `example.com` nor `a.b.example.com`); rules without a host
  serve every other host. Hosts compare case-insensitively, without the port.
- The host chosen above is a virtual server (as in the reference nginx controller): when
  none of its paths match, the request goes to the default backend, not to rules of a
  less specific host.
- Path: `Exact` matches the path as written (case-sensitive, `/foo` is not `/foo/`);
  `Prefix` matches element-wise on `/`-separated elements (`/foo` matches `/foo`, `/foo/`
  and `/foo/bar`, never `/foobar`; a trailing slash on either side is ignored).
  `ImplementationSpecific` is treated as `Prefix` here.
- Several matching paths: the longest wins; on equal length `Exact` beats `Prefix`; on a
  full tie the older Ingress wins (creationTimestamp, then namespace/name).
- Nothing matches: the oldest `spec.defaultBackend` of the entry point, else 404.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]

EXACT = "Exact"
PREFIX = "Prefix"


@dataclass(frozen=True)
class Backend:
    """A Service port (number or name) in a namespace, and the Ingress that asked for it."""
    namespace: str
    service: str
    port: int | str
    ingress: str  # "namespace/name", for events and logs


@dataclass(frozen=True)
class PathRule:
    path: str
    kind: str  # EXACT or PREFIX
    backend: Backend
    age: tuple[str, str] = ("", "")  # (creationTimestamp, namespace/name): older wins ties

    @property
    def length(self) -> int:
        """Length used for "longest path first": a Prefix's trailing slash does not count."""
        return len(self.path.rstrip("/")) if self.kind == PREFIX else len(self.path)

    def matches(self, path: str) -> bool:
        if self.kind == EXACT:
            return path == self.path
        return prefix_matches(self.path, path)


def segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s]


def prefix_matches(prefix: str, path: str) -> bool:
    """Element-wise prefix match: every element of `prefix` equals the path's element."""
    want = segments(prefix)
    have = segments(path)
    return len(have) >= len(want) and have[:len(want)] == want


def _order(rule: PathRule) -> tuple[int, int, tuple[str, str]]:
    return (-rule.length, 0 if rule.kind == EXACT else 1, rule.age)


def normalize_host(host: str) -> str:
    """The Host header without port or trailing dot, lower case (IPv6 literals kept whole)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[:host.find("]") + 1] if "]" in host else host
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def wildcard_suffix(host: str) -> str:
    """For `a.example.com` the key `.example.com` its one-label wildcard is stored under."""
    dot = host.find(".")
    return host[dot:] if dot > 0 else ""


@dataclass
class Table:
    """Rules of every Ingress served at one entry point, sorted for matching."""
    exact: dict[str, list[PathRule]] = field(default_factory=dict)
    wildcard: dict[str, list[PathRule]] = field(default_factory=dict)  # ".example.com" -> rules
    any_host: list[PathRule] = field(default_factory=list)
    default: Backend | None = None
    default_age: tuple[str, str] = ("~", "")

    def rules_for(self, host: str) -> list[PathRule]:
        host = normalize_host(host)
        rules = self.exact.get(host)
        if rules is None:
            rules = self.wildcard.get(wildcard_suffix(host))
        return self.any_host if rules is None else rules

    def match(self, host: str, path: str) -> Backend | None:
        """The backend for a request, or None (404)."""
        for rule in self.rules_for(host):
            if rule.matches(path):
                return rule.backend
        return self.default

    def backends(self) -> Iterable[Backend]:
        for rules in (*self.exact.values(), *self.wildcard.values(), self.any_host):
            for rule in rules:
                yield rule.backend
        if self.default is not None:
            yield self.default


def backend_of(spec: Obj | None, namespace: str, ingress: str) -> Backend | None:
    """An IngressBackend's Service reference; None for resource backends (not served)."""
    svc = (spec or {}).get("service")
    if not svc or not svc.get("name"):
        return None
    port = svc.get("port") or {}
    number = port.get("number")
    return Backend(namespace=namespace, service=svc["name"],
                   port=int(number) if number else str(port.get("name") or ""), ingress=ingress)


def age_of(ing: Obj) -> tuple[str, str]:
    meta = ing["metadata"]
    return (meta.get("creationTimestamp") or "", f"{meta.get('namespace', '')}/{meta['name']}")


def build(ingresses: Iterable[Obj]) -> Table:
    """The table for a set of Ingresses (already filtered to one entry point)."""
    table = Table()
    for ing in ingresses:
        add_ingress(table, ing)
    for rules in (*table.exact.values(), *table.wildcard.values(), table.any_host):
        rules.sort(key=_order)
    return table


def add_ingress(table: Table, ing: Obj) -> None:
    meta, spec = ing["metadata"], ing.get("spec") or {}
    ns = meta.get("namespace") or "default"
    key, age = f"{ns}/{meta['name']}", age_of(ing)
    default = backend_of(spec.get("defaultBackend"), ns, key)
    if default is not None and age < table.default_age:
        table.default, table.default_age = default, age
    for rule in spec.get("rules") or []:
        host = normalize_host(rule.get("host") or "")
        if not host:
            target = table.any_host
        elif host.startswith("*."):
            target = table.wildcard.setdefault(host[1:], [])
        else:
            target = table.exact.setdefault(host, [])
        for p in (rule.get("http") or {}).get("paths") or []:
            backend = backend_of(p.get("backend"), ns, key)
            if backend is None:
                continue
            kind = EXACT if p.get("pathType") == EXACT else PREFIX
            target.append(PathRule(path=p.get("path") or "/", kind=kind, backend=backend,
                                   age=age))
