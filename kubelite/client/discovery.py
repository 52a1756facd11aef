"""Which resources the server serves, read from its discovery documents.

Controllers that work on every type (namespace deletion, garbage collection) ask the
server rather than a built-in list, so custom resources are covered. Only the preferred
version of each group is listed: every version of a resource holds the same objects.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from kubelite.api import errors, registry
from kubelite.client import rest

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def preferred_group_versions(group_list: Obj) -> list[str]:
    """`v1` plus the preferred groupVersion of every group in an APIGroupList."""
    out = ["v1"]
    for g in group_list.get("groups") or []:
        preferred = (g.get("preferredVersion") or {}).get("groupVersion")
        versions = g.get("versions") or []
        if not preferred and versions:
            preferred = versions[0].get("groupVersion")
        if preferred:
            out.append(preferred)
    return out


def types_of(group_version: str, resource_list: Obj) -> list[registry.ResourceType]:
    """The top-level resources (no subresources) of one APIResourceList."""
    group, _, version = group_version.rpartition("/")
    out = []
    for r in resource_list.get("resources") or []:
        if "/" in r.get("name", ""):
            continue
        out.append(registry.ResourceType(
            group=group, version=version, kind=r["kind"], plural=r["name"],
            namespaced=bool(r.get("namespaced")), verbs=tuple(sorted(r.get("verbs") or ()))))
    return out


async def server_types(client: rest.Client) -> list[registry.ResourceType]:
    """Every top-level resource the server serves, at each group's preferred version.

    A group version whose document cannot be read is skipped (logged): one broken
    aggregated API must not hide every other type."""
    groups = await client.request("GET", "/apis")
    out: list[registry.ResourceType] = []
    for gv in preferred_group_versions(groups):
        path = "/api/v1" if gv == "v1" else f"/apis/{gv}"
        try:
            res = await client.request("GET", path)
        except errors.APIError as e:
            log.warning("discovery failed groupVersion=%s error=%s", gv, e)
            continue
        out.extend(types_of(gv, res))
    return out


def with_verbs(types: Iterable[registry.ResourceType], *verbs: str
               ) -> list[registry.ResourceType]:
    """The types that support every one of `verbs`."""
    need = set(verbs)
    return [rt for rt in types if need <= set(rt.verbs)]
