from __future__ import annotations

from typing import Any

import pytest

from kubelite.agent.kubelet import status
from kubelite.agent.runtime import protocol

T0 = 1_700_000_000.0


def ctr(state: str, *, code: int = 0, reason: str = "", cid: str = "c1") -> protocol.ContainerStatus:
    return protocol.ContainerStatus(id=cid, name="main", sandbox_id="s", image="img", image_ref="sha256:x",
                                    state=state, created_at=T0, started_at=T0 + 1,
                                    finished_at=T0 + 2 if state == protocol.EXITED else 0.0,
                                    exit_code=code, reason=reason)


def view(**kw: Any) -> status.ContainerView:
    return status.ContainerView(name=kw.pop("name", "main"), image="img", **kw)


def pod(policy: str = "Always", init: int = 0) -> dict[str, Any]:
    spec: dict[str, Any] = {"restartPolicy": policy, "containers": [{"name": "main"}]}
    if init:
        spec["initContainers"] = [{"name": f"init{i}"} for i in range(init)]
    return {"metadata": {"name": "p", "namespace": "d", "uid": "u"}, "spec": spec,
            "status": {"qosClass": "BestEffort", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastTransitionTime": "then"}]}}


@pytest.mark.parametrize(("v", "state", "last"), [
    (view(), {"waiting": {"reason": "ContainerCreating"}}, {}),
    (view(current=ctr(protocol.RUNNING), ready=True, started=True),
     {"running": {"startedAt": status.rfc3339(T0 + 1)}}, {}),
    (view(current=ctr(protocol.EXITED, code=1, reason="Error"), waiting_reason="CrashLoopBackOff",
          waiting_message="back-off 10s", restart_count=1),
     {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 10s"}},
     {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": status.rfc3339(T0 + 1),
                     "finishedAt": status.rfc3339(T0 + 2), "containerID": "runc://c1"}}),
    (view(current=ctr(protocol.EXITED, code=137, reason="OOMKilled")),
     {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": status.rfc3339(T0 + 1),
                     "finishedAt": status.rfc3339(T0 + 2), "containerID": "runc://c1"}}, {}),
    (view(waiting_reason="ErrImagePull", waiting_message="no such image"),
     {"waiting": {"reason": "ErrImagePull", "message": "no such image"}}, {}),
], ids=["creating", "running", "crashloop", "oomkilled", "pull-error"])
def test_container_status_states(v: status.ContainerView, state: dict[str, Any],
                                 last: dict[str, Any]) -> None:
    out = status.container_status(v)
    assert (out["state"], out["lastState"]) == (state, last)
    assert out["ready"] is (v.ready and state.keys() == {"running"})


def test_container_ids_name_the_runtime_that_runs_them() -> None:
    running = view(current=ctr(protocol.RUNNING), ready=True, started=True)
    assert status.container_status(running)["containerID"] == "runc://c1"
    assert status.container_status(running, runtime="crun")["containerID"] == "crun://c1"
    crashed = view(current=ctr(protocol.EXITED, code=1), last=ctr(protocol.EXITED, code=2),
                   waiting_reason="CrashLoopBackOff", restart_count=2)
    out = status.container_status(crashed, runtime="crun")
    assert out["containerID"] == "crun://c1"
    assert out["lastState"]["terminated"]["containerID"] == "crun://c1"


@pytest.mark.parametrize(("policy", "init", "containers", "phase"), [
    ("Always", [], [view()], "Pending"),
    ("Always", [], [view(current=ctr(protocol.RUNNING))], "Running"),
    ("Always", [], [view(current=ctr(protocol.EXITED, code=1), waiting_reason="CrashLoopBackOff")],
     "Running"),
    ("Never", [], [view(current=ctr(protocol.EXITED, code=0))], "Succeeded"),
    ("Never", [], [view(current=ctr(protocol.EXITED, code=2))], "Failed"),
    ("OnFailure", [], [view(current=ctr(protocol.EXITED, code=0))], "Succeeded"),
    ("Always", [view(name="init0", current=ctr(protocol.RUNNING))], [view()], "Pending"),
    ("Never", [view(name="init0", current=ctr(protocol.EXITED, code=1))], [view()], "Failed"),
], ids=["waiting", "running", "restarting", "never-ok", "never-failed", "onfailure-ok",
        "init-running", "init-failed-never"])
def test_phase(policy: str, init: list[status.ContainerView], containers: list[status.ContainerView],
               phase: str) -> None:
    p = pod(policy, len(init))
    v = status.PodView(sandbox_ready=True, init=init, containers=containers)
    assert status.pod_status(p, v, T0)["phase"] == phase


def test_conditions_and_transition_times() -> None:
    p = pod("Always", init=1)
    v = status.PodView(sandbox_ready=True, host_ip="127.0.0.1", start_time=T0,
                       init=[view(name="init0", current=ctr(protocol.RUNNING))], containers=[view()])
    out = status.pod_status(p, v, T0)
    conds = {c["type"]: c for c in out["conditions"]}
    assert [c["type"] for c in out["conditions"]] == list(status.CONDITION_ORDER)
    assert conds["Initialized"]["message"] == "containers with incomplete status: [init0]"
    assert conds["Ready"]["message"] == "containers with unready status: [main]"
    assert conds["PodScheduled"]["lastTransitionTime"] == "then"
    assert out["initContainerStatuses"][0]["state"].keys() == {"running"}
    assert out["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
    assert (out["hostIP"], out["qosClass"]) == ("127.0.0.1", "BestEffort")
    # A later status with the same condition values keeps the first transition time.
    p["status"]["conditions"] = out["conditions"]
    again = status.pod_status(p, v, T0 + 60)
    assert again["conditions"] == out["conditions"]


def test_succeeded_pod_is_not_ready_with_pod_completed() -> None:
    v = status.PodView(sandbox_ready=True, containers=[view(current=ctr(protocol.EXITED))])
    out = status.pod_status(pod("Never"), v, T0)
    ready = next(c for c in out["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "PodCompleted")


def test_status_read_back_without_nulls_is_unchanged() -> None:
    """The status patch's nulls remove fields (the scheduler's PodScheduled can come back
    without lastProbeTime): the status computed from the read-back pod is the same one."""
    before = pod()
    before["status"]["conditions"][0]["lastProbeTime"] = None
    running = status.PodView(sandbox_ready=True, start_time=T0, containers=[
        view(current=ctr(protocol.RUNNING), ready=True, started=True)])
    written = status.pod_status(before, running, T0 + 1)
    stored = {**before, "status": status.without_nulls(written)}
    again = status.pod_status(stored, running, T0 + 5)
    assert again != written
    assert status.without_nulls(again) == status.without_nulls(written)
    changed = status.PodView(sandbox_ready=True, start_time=T0, containers=[
        view(current=ctr(protocol.RUNNING), ready=False, started=True)])
    assert status.without_nulls(status.pod_status(stored, changed, T0 + 5)) != \
        status.without_nulls(written)
