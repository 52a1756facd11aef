"""The Pod row: READY, the STATUS reason kubectl users know, RESTARTS with their recency.

STATUS follows printPod: phase (or status.reason), SchedulingGated, then the first init
container that is not done ("Init:1/3", "Init:CrashLoopBackOff", "Init:ExitCode:1"), then
the last main container with a waiting/terminated reason ("ContainerCreating",
"CrashLoopBackOff", "Completed", "Error"...), "Running"/"NotReady" for pods whose
completed container sits beside a running one, and "Terminating"/"Unknown" while deleting.
Sidecars (init containers with restartPolicy Always) count as containers once started.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kubelite.api.printers import cells, columns, duration

Obj = dict[str, Any]

COLUMNS = [
    columns.name(),
    columns.column("Ready", description="The aggregate readiness state of this pod for "
                   "accepting traffic."),
    columns.column("Status", description="The aggregate status of the containers in this pod."),
    columns.column("Restarts", description="The number of times the containers in this pod "
                   "have been restarted and when the last container in this pod has restarted."),
    columns.age(),
    columns.wide("IP", "IP address allocated to the pod."),
    columns.wide("Node", "The node this pod is scheduled to."),
    columns.wide("Nominated Node", "The node the scheduler nominated while preempting for "
                 "this pod."),
    columns.wide("Readiness Gates", "Extra conditions evaluated for pod readiness."),
]


@dataclass
class _Restarts:
    count: int = 0
    last: datetime | None = None

    def add(self, status: Obj) -> None:
        self.count += int(status.get("restartCount") or 0)
        finished = duration.parse_time(cells.get(status, "lastState", "terminated", "finishedAt"))
        if finished is not None and (self.last is None or finished > self.last):
            self.last = finished


@dataclass
class _State:
    reason: str
    ready: int = 0
    initializing: bool = False
    all_restarts: _Restarts = field(default_factory=_Restarts)
    sidecar_restarts: _Restarts = field(default_factory=_Restarts)


def _terminated(term: Obj, prefix: str = "") -> str:
    if term.get("reason"):
        return prefix + str(term["reason"])
    if term.get("signal"):
        return f"{prefix}Signal:{term['signal']}"
    return f"{prefix}ExitCode:{term.get('exitCode') or 0}"


def _is_sidecar(spec: Obj | None) -> bool:
    return bool(spec) and spec.get("restartPolicy") == "Always"  # type: ignore[union-attr]


def _walk_init(pod: Obj, st: _State) -> None:
    specs = cells.get(pod, "spec", "initContainers", default=[])
    by_name = {c.get("name"): c for c in specs}
    for i, cs in enumerate(cells.get(pod, "status", "initContainerStatuses", default=[])):
        st.all_restarts.add(cs)
        sidecar = _is_sidecar(by_name.get(cs.get("name")))
        if sidecar:
            st.sidecar_restarts.add(cs)
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting") or {}
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            st.ready += 1 if cs.get("ready") else 0
            continue
        if term is not None:
            st.reason = _terminated(term, "Init:")
        elif wait.get("reason") and wait["reason"] != "PodInitializing":
            st.reason = "Init:" + str(wait["reason"])
        else:
            st.reason = f"Init:{i}/{len(specs)}"
        st.initializing = True
        return


def _walk_main(pod: Obj, st: _State) -> _Restarts:
    restarts = _Restarts(st.sidecar_restarts.count, st.sidecar_restarts.last)
    running = False
    for cs in reversed(cells.get(pod, "status", "containerStatuses", default=[])):
        restarts.add(cs)
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting") or {}
        if wait.get("reason"):
            st.reason = str(wait["reason"])
        elif term is not None:
            st.reason = _terminated(term)
        elif cs.get("ready") and state.get("running") is not None:
            running = True
            st.ready += 1
    if st.reason == "Completed" and running:
        st.reason = "Running" if cells.condition_true(pod, "Ready") else "NotReady"
    return restarts


def _reason(pod: Obj) -> str:
    status = pod.get("status") or {}
    reason = str(status.get("reason") or status.get("phase") or "")
    for c in status.get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    return reason


def status_cells(pod: Obj, now: datetime) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS) for one pod."""
    st = _State(_reason(pod))
    _walk_init(pod, st)
    restarts = st.all_restarts
    if not st.initializing or cells.condition_true(pod, "Initialized"):
        restarts = _walk_main(pod, st)
    if cells.deleting(pod):
        if cells.get(pod, "status", "reason") == "NodeLost":
            st.reason = "Unknown"
        elif cells.get(pod, "status", "phase") not in ("Succeeded", "Failed"):
            st.reason = "Terminating"
    spec = pod.get("spec") or {}
    total = len(spec.get("containers") or []) + sum(
        1 for c in spec.get("initContainers") or [] if _is_sidecar(c))
    text = str(restarts.count)
    if restarts.count and restarts.last is not None:
        text = f"{restarts.count} ({duration.human(now - restarts.last)} ago)"
    return f"{st.ready}/{total}", st.reason, text


def _readiness_gates(pod: Obj) -> str:
    gates = cells.get(pod, "spec", "readinessGates", default=[])
    if not gates:
        return "<none>"
    conditions = {c.get("type"): c.get("status") for c in
                  reversed(cells.get(pod, "status", "conditions", default=[]))}
    ok = sum(1 for g in gates if conditions.get(g.get("conditionType")) == "True")
    return f"{ok}/{len(gates)}"


def pod_cells(pod: Obj, now: datetime) -> list[Any]:
    ready, reason, restarts = status_cells(pod, now)
    ip = cells.get(pod, "status", "podIPs", 0, "ip") or cells.get(pod, "status", "podIP")
    return [cells.name(pod), ready, reason, restarts, cells.age(pod, now),
            ip or "<none>", cells.get(pod, "spec", "nodeName") or "<none>",
            cells.get(pod, "status", "nominatedNodeName") or "<none>", _readiness_gates(pod)]


def pod_conditions(pod: Obj) -> list[Obj]:
    """Row conditions: completed pods are marked so clients can hide them."""
    phase = cells.get(pod, "status", "phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed",
                 "message": "The pod failed."}]
    return []
