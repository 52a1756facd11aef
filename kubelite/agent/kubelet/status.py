"""Pod status as the kubelet computes it: phase, conditions, container statuses.

Pure functions over a snapshot (`PodView`), so the rules are unit-testable without a
runtime. The rules follow upstream: an exited container that will be restarted is
shown waiting (e.g. CrashLoopBackOff) with the exit in lastState; the phase counts
containers the way the kubelet's getPhase does; conditions keep their
lastTransitionTime while their status is unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kubelite.agent.runtime import protocol

Obj = dict[str, Any]
CONDITION_ORDER = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                   "PodScheduled")


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class ContainerView:
    """What the kubelet knows about one container of the spec."""

    name: str
    image: str
    current: protocol.ContainerStatus | None = None
    last: protocol.ContainerStatus | None = None
    waiting_reason: str = ""   # set when the container waits (pull error, back-off, ...)
    waiting_message: str = ""
    restart_count: int = 0
    ready: bool = False
    started: bool = False


@dataclass
class PodView:
    sandbox_ready: bool = False
    pod_ips: tuple[str, ...] = ()
    host_ip: str = ""
    start_time: float = 0.0
    runtime: str = "runc"  # containerIDs read <runtime>://<id>, as nodeInfo names it
    init: list[ContainerView] = field(default_factory=list)
    containers: list[ContainerView] = field(default_factory=list)


def _terminated(st: protocol.ContainerStatus, runtime: str) -> Obj:
    out: Obj = {"exitCode": st.exit_code, "reason": st.reason or ("Completed" if st.exit_code == 0
                                                                    else "Error"),
                "startedAt": rfc3339(st.started_at) if st.started_at else None,
                "finishedAt": rfc3339(st.finished_at), "containerID": f"{runtime}://{st.id}"}
    if st.message:
        out["message"] = st.message
    return out


def container_status(view: ContainerView, default_waiting: str = "ContainerCreating",
                     runtime: str = "runc") -> Obj:
    """One entry of containerStatuses / initContainerStatuses."""
    cur = view.current
    out: Obj = {"name": view.name, "image": view.image, "imageID": "", "ready": False,
                "restartCount": view.restart_count, "started": False, "lastState": {}}
    if view.last is not None:
        out["lastState"] = {"terminated": _terminated(view.last, runtime)}
    if cur is not None:
        out["containerID"] = f"{runtime}://{cur.id}"
        out["imageID"] = cur.image_ref
    if cur is not None and cur.state == protocol.RUNNING:
        out["state"] = {"running": {"startedAt": rfc3339(cur.started_at)}}
        out["ready"], out["started"] = view.ready, view.started
    elif cur is not None and cur.state == protocol.EXITED and view.waiting_reason:
        out["state"] = {"waiting": _waiting(view.waiting_reason, view.waiting_message)}
        out["lastState"] = {"terminated": _terminated(cur, runtime)}
    elif cur is not None and cur.state == protocol.EXITED:
        out["state"] = {"terminated": _terminated(cur, runtime)}
    else:
        out["state"] = {"waiting": _waiting(view.waiting_reason or default_waiting,
                                            view.waiting_message)}
    return out


def _waiting(reason: str, message: str) -> Obj:
    return {"reason": reason, "message": message} if message else {"reason": reason}


def init_done(statuses: list[Obj]) -> bool:
    return all(_exit_code(s) == 0 for s in statuses)


def _exit_code(s: Obj) -> int | None:
    term = s["state"].get("terminated")
    return None if term is None else int(term["exitCode"])


def phase(spec: Obj, init: list[Obj], containers: list[Obj]) -> str:
    """Pending / Running / Succeeded / Failed by the kubelet's container counting."""
    policy = spec.get("restartPolicy") or "Always"
    pending_init, failed_init = 0, 0
    for s in init:
        state, last = s["state"], s["lastState"].get("terminated")
        if "terminated" in state:
            failed_init += state["terminated"]["exitCode"] != 0
        elif "waiting" in state and last is not None:
            failed_init += last["exitCode"] != 0
        else:
            pending_init += 1
    if failed_init and policy == "Never":
        return "Failed"
    running = waiting = stopped = succeeded = 0
    for s in containers:
        state = s["state"]
        if "running" in state:
            running += 1
        elif "terminated" in state:
            stopped += 1
            succeeded += state["terminated"]["exitCode"] == 0
        elif s["lastState"].get("terminated") is not None:
            stopped += 1
        else:
            waiting += 1
    if pending_init or waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped == len(containers):
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def _cond(type_: str, ok: bool, reason: str = "", message: str = "") -> Obj:
    out: Obj = {"type": type_, "status": "True" if ok else "False", "lastProbeTime": None}
    if not ok and reason:
        out["reason"] = reason
    if not ok and message:
        out["message"] = message
    return out


def conditions(view: PodView, init: list[Obj], containers: list[Obj], pod_phase: str) -> list[Obj]:
    """PodReadyToStartContainers, Initialized, Ready, ContainersReady (without times)."""
    incomplete = [s["name"] for s in init if _exit_code(s) != 0]
    unready = [s["name"] for s in containers if not s["ready"]]
    out = [_cond("PodReadyToStartContainers", view.sandbox_ready)]
    out.append(_cond("Initialized", not incomplete, "ContainersNotInitialized",
                     f"containers with incomplete status: [{' '.join(incomplete)}]"))
    if pod_phase == "Succeeded" or (pod_phase == "Failed" and not unready):
        ready = [_cond(t, False, "PodCompleted") for t in ("Ready", "ContainersReady")]
    else:
        msg = f"containers with unready status: [{' '.join(unready)}]"
        ready = [_cond(t, not unready, "ContainersNotReady", msg) for t in ("Ready", "ContainersReady")]
    return out + ready


def with_transition_times(new: list[Obj], old: list[Obj], now: float) -> list[Obj]:
    """Keep lastTransitionTime of conditions whose status did not change; keep PodScheduled."""
    prior = {c.get("type"): c for c in old}
    out = []
    for cond in new:
        before = prior.get(cond["type"])
        same = before is not None and before.get("status") == cond["status"]
        stamp = before.get("lastTransitionTime") if same and before else rfc3339(now)
        out.append({**cond, "lastTransitionTime": stamp})
    mine = {c["type"] for c in out}
    out += [c for c in old if c.get("type") not in mine]
    return sorted(out, key=lambda c: CONDITION_ORDER.index(c["type"])
                  if c["type"] in CONDITION_ORDER else len(CONDITION_ORDER))


def without_nulls(value: Any) -> Any:
    """`value` without its null object fields, at any depth: the form in which to compare
    statuses. A merge patch's null removes a field, so the pod read back after a status
    write can lack a `lastProbeTime: null` that the written status carried over."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def pod_status(pod: Obj, view: PodView, now: float) -> Obj:
    """The full status the kubelet writes for `pod`."""
    old = pod.get("status") or {}
    init = [container_status(v, runtime=view.runtime) for v in view.init]
    app_default = "ContainerCreating" if init_done(init) else "PodInitializing"
    containers = [container_status(v, app_default, view.runtime) for v in view.containers]
    pod_phase = phase(pod.get("spec") or {}, init, containers)
    out: Obj = {"phase": pod_phase, "conditions": with_transition_times(
        conditions(view, init, containers, pod_phase), old.get("conditions") or [], now),
        "containerStatuses": containers}
    if init:
        out["initContainerStatuses"] = init
    if view.host_ip:
        out["hostIP"], out["hostIPs"] = view.host_ip, [{"ip": view.host_ip}]
    if view.pod_ips:
        out["podIP"], out["podIPs"] = view.pod_ips[0], [{"ip": ip} for ip in view.pod_ips]
    if view.start_time:
        out["startTime"] = old.get("startTime") or rfc3339(view.start_time)
    if old.get("qosClass"):
        out["qosClass"] = old["qosClass"]
    return out
