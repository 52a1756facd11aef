"""Parse an API URL into what it addresses (group, version, namespace, resource, name...).

Mirrors the shapes upstream's RequestInfoResolver understands:
  /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
  /apis/{group}/{version}[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
`/api/v1/namespaces/{name}[/{sub}]` addresses the Namespace object itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestInfo:
    group: str
    version: str
    resource: str
    namespace: str = ""
    name: str = ""
    subresource: str = ""

    @property
    def is_collection(self) -> bool:
        return not self.name


def parse(path: str) -> RequestInfo | None:
    """The resource a path names, or None when it is not a resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 3 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if not rest:
        return None
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3 and not (group == "" and len(rest) == 3
                                                          and rest[2] in ("status", "finalize")):
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    return RequestInfo(group, version, resource, namespace, name, sub)
