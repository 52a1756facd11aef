"""Query and path parameters of Kubernetes REST operations, in OpenAPI 3.0 form.

Names and types follow upstream's published documents (kubectl looks for `fieldValidation`
on patch operations to decide that the server validates fields itself).
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

_DOCS = {
    "allowWatchBookmarks": "Ask for BOOKMARK watch events; servers may ignore the request.",
    "continue": "The continue token of a previous paginated list call.",
    "dryRun": "When present, modifications are not persisted. Valid value: All.",
    "fieldManager": "Name of the actor making the change; required for apply patches.",
    "fieldSelector": "Restrict the returned objects by their fields.",
    "fieldValidation": ("How to handle unknown or duplicate fields in the request body: "
                        "Ignore, Warn (default) or Strict (reject with 400 BadRequest)."),
    "force": "Re-acquire fields owned by other managers; only for apply patches.",
    "gracePeriodSeconds": "Seconds before the object is deleted; zero deletes at once.",
    "ignoreStoreReadErrorWithClusterBreakingPotential": (
        "Delete a corrupt object that cannot be read from storage (unsafe)."),
    "labelSelector": "Restrict the returned objects by their labels.",
    "limit": "Maximum number of objects to return in one page of a list.",
    "orphanDependents": "Deprecated: use propagationPolicy.",
    "propagationPolicy": "Garbage collection policy: Orphan, Background or Foreground.",
    "resourceVersion": "Constrain the resource version the response is served from.",
    "resourceVersionMatch": "How resourceVersion applies to list calls: Exact or NotOlderThan.",
    "sendInitialEvents": "Start a watch with synthetic events for the current state.",
    "timeoutSeconds": "Timeout of the list or watch call, in seconds.",
    "watch": "Watch for changes and return them as a stream of events.",
    "pretty": "If 'true', the output is pretty printed.",
    "name": "name of the {kind}",
    "namespace": "object name and auth scope, such as for teams and projects",
}
_BOOL = ("allowWatchBookmarks", "force", "orphanDependents", "sendInitialEvents", "watch",
         "ignoreStoreReadErrorWithClusterBreakingPotential")
_INT = ("gracePeriodSeconds", "limit", "timeoutSeconds")

LIST = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
        "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
        "watch")
WRITE = ("dryRun", "fieldManager", "fieldValidation")
PATCH = (*WRITE, "force")
DELETE = ("dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential",
          "orphanDependents", "propagationPolicy")
DELETE_COLLECTION = tuple(sorted({*DELETE, *LIST} - {"allowWatchBookmarks", "watch"}))


def query(names: tuple[str, ...]) -> list[Obj]:
    """Query parameters by name, in the given order."""
    return [_param(n, "query") for n in names]


def path(kind: str, *, namespaced: bool, item: bool) -> list[Obj]:
    """The path-level parameters: name, namespace, then the `pretty` query flag."""
    out = []
    if item:
        out.append({**_param("name", "path"), "required": True,
                    "description": _DOCS["name"].format(kind=kind)})
    if namespaced:
        out.append({**_param("namespace", "path"), "required": True})
    out.append(_param("pretty", "query"))
    return out


def _param(name: str, where: str) -> Obj:
    kind = "boolean" if name in _BOOL else "integer" if name in _INT else "string"
    return {"description": _DOCS[name], "in": where, "name": name,
            "schema": {"type": kind, "uniqueItems": True}}
