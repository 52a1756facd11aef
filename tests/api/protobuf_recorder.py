"""A test-only HTTP server that answers kubectl just enough to make it POST, and records the bodies.

It serves /version (minor 32, so the kubectl dispatcher runs kubectl 1.32), legacy discovery
for the kinds the protobuf tests create, canned objects for the GETs some commands make first
(`create job --from=cronjob/...`, `expose deployment ...`), and answers every POST with a
JSON echo of what it received. Bound to 127.0.0.1 on a free port; `stop()` shuts it down.
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass
from typing import Any

from kubelite.api.protobuf import decode

# (group, version, plural, kind, namespaced)
RESOURCES = [
    ("", "v1", "pods", "Pod", True),
    ("", "v1", "services", "Service", True),
    ("", "v1", "namespaces", "Namespace", False),
    ("", "v1", "configmaps", "ConfigMap", True),
    ("", "v1", "secrets", "Secret", True),
    ("", "v1", "serviceaccounts", "ServiceAccount", True),
    ("", "v1", "resourcequotas", "ResourceQuota", True),
    ("apps", "v1", "deployments", "Deployment", True),
    ("batch", "v1", "jobs", "Job", True),
    ("batch", "v1", "cronjobs", "CronJob", True),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", True),
    ("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True),
    ("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False),
    ("rbac.authorization.k8s.io", "v1", "roles", "Role", True),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    ("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False),
    ("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False),
]
VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.4",
    "gitCommit": "0",
    "gitTreeState": "clean",
    "buildDate": "2025-01-01T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    content_type: str
    body: bytes


def _group_list() -> dict[str, Any]:
    groups = sorted({g for g, *_ in RESOURCES if g})
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {
                "name": g,
                "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"},
            }
            for g in groups
        ],
    }


def _resource_list(group: str) -> dict[str, Any]:
    resources = [
        {
            "name": plural,
            "singularName": kind.lower(),
            "namespaced": namespaced,
            "kind": kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
        }
        for g, _, plural, kind, namespaced in RESOURCES
        if g == group
    ]
    gv = f"{group}/v1" if group else "v1"
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def _discovery(path: str) -> dict[str, Any] | None:
    if path == "/version":
        return VERSION
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}
    if path == "/apis":
        return _group_list()
    if path == "/api/v1":
        return _resource_list("")
    parts = path.strip("/").split("/")
    if len(parts) == 3 and parts[0] == "apis":
        return _resource_list(parts[1])
    return None


def _echo(request: Request) -> dict[str, Any]:
    """The object a real server would return for a create (close enough for kubectl)."""
    if decode.is_protobuf(request.content_type):
        obj = decode.decode(request.body)
    else:
        obj = json.loads(request.body)
    if obj.get("kind") in ("SelfSubjectAccessReview", "SelfSubjectRulesReview"):
        obj["status"] = (
            {"allowed": True} if obj["kind"] == "SelfSubjectAccessReview" else {"incomplete": True}
        )
    return obj


class Recorder:
    """Serves kubectl and keeps every request it received, in order."""

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects  # GET path -> object
        self.requests: list[Request] = []
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def posts(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST"]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def answer(self, request: Request) -> tuple[int, dict[str, Any]]:
        self.requests.append(request)
        if request.method == "POST":
            return 201, _echo(request)
        found = _discovery(request.path) or self.objects.get(request.path)
        if found is not None:
            return 200, found
        return 404, {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": "NotFound",
            "code": 404,
        }

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                request = Request(self.command, path, self.headers.get("Content-Type", ""), body)
                code, obj = recorder.answer(request)
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
