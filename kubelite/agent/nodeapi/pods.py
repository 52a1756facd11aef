"""Which runtime containers belong to a pod's container, as the pod workers know it.

The node API names containers as namespace/pod/container; the runtime knows ids. Errors
carry the messages the kubelet gives, so the API server can pass them on unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from kubelite.agent.kubelet import podworkers


class NotFound(Exception):
    """No such pod or container on this node (HTTP 404)."""


class BadRequest(Exception):
    """The container exists but cannot serve the request yet (HTTP 400)."""


@dataclass(frozen=True)
class Target:
    """The container's current runtime id ("" if none yet) and its previous attempt's log."""

    pod: str
    container: str
    current_id: str
    previous_log: str
    waiting_reason: str


@dataclass(frozen=True)
class Sandbox:
    """A pod's running sandbox: its id and network namespace (for port forwarding)."""

    id: str
    netns_path: str


class Containers(Protocol):
    def find(self, namespace: str, pod: str, container: str) -> Target:
        """Raise NotFound when the pod or its container is not on this node."""
        ...

    def sandbox(self, namespace: str, pod: str) -> Sandbox:
        """Raise NotFound when the pod is not on this node, BadRequest if it has no sandbox."""
        ...


class WorkerContainers:
    """Looks containers up in the pod workers' records."""

    def __init__(self, workers: podworkers.PodWorkers) -> None:
        self.workers = workers

    def _worker(self, namespace: str, pod: str) -> podworkers.Worker:
        for worker in list(self.workers.workers.values()):
            meta = worker.pod["metadata"]
            if meta["namespace"] == namespace and meta["name"] == pod:
                return worker
        raise NotFound(f'pod "{pod}" in namespace "{namespace}" not found on this node')

    def sandbox(self, namespace: str, pod: str) -> Sandbox:
        state = self._worker(namespace, pod).state
        if not state.sandbox_id or state.sandbox is None or not state.sandbox.netns_path:
            raise BadRequest(f'pod "{pod}" has no running sandbox')
        return Sandbox(state.sandbox_id, state.sandbox.netns_path)

    def find(self, namespace: str, pod: str, container: str) -> Target:
        worker = self._worker(namespace, pod)
        spec = worker.pod.get("spec") or {}
        names = [c["name"] for c in (spec.get("initContainers") or []) +
                 (spec.get("containers") or []) + (spec.get("ephemeralContainers") or [])]
        if container not in names:
            raise NotFound(f'container "{container}" not found in pod "{pod}"')
        rec = worker.state.records.get(container)
        if rec is None:
            return Target(pod, container, "", "", "ContainerCreating")
        return Target(pod, container, rec.id, rec.last.log_path if rec.last else "",
                      rec.waiting_reason or "ContainerCreating")


_WAITING_WORDS = {"ErrImagePull": "image can't be pulled",
                  "ImagePullBackOff": "trying and failing to pull image"}


def current_id(target: Target) -> str:
    """The current (or last exited) container's id, or BadRequest as the kubelet words it."""
    if not target.current_id:
        reason = _WAITING_WORDS.get(target.waiting_reason, target.waiting_reason)
        raise BadRequest(f'container "{target.container}" in pod "{target.pod}" is waiting to '
                         f"start: {reason}")
    return target.current_id


def previous_log(target: Target) -> str:
    if not target.previous_log:
        raise BadRequest(f'previous terminated container "{target.container}" in pod '
                         f'"{target.pod}" not found')
    return target.previous_log
