"""The Pod row as `kubectl get pods [-o wide]` shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from kubelite.api import registry
from kubelite.api.printers import table

NOW = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
PODS = registry.Registry().lookup("", "v1", "pods")


def pod(containers: int = 1, statuses: list[dict] | None = None, *, phase: str = "Running",
        init: list[dict] | None = None, init_statuses: list[dict] | None = None,
        **extra: Any) -> dict:
    obj: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default",
                     "creationTimestamp": "2025-01-01T11:55:00Z"},
        "spec": {"containers": [{"name": f"c{i}", "image": "nginx"} for i in range(containers)],
                 "initContainers": init or []},
        "status": {"phase": phase, "containerStatuses": statuses or [],
                   "initContainerStatuses": init_statuses or []},
    }
    for key, value in extra.items():
        section, _, field = key.partition("__")
        obj[section][field] = value
    return obj


def running(ready: bool = True, restarts: int = 0, finished: str | None = None) -> dict:
    status: dict[str, Any] = {"name": "c", "ready": ready, "restartCount": restarts,
                              "state": {"running": {"startedAt": "2025-01-01T11:56:00Z"}}}
    if finished:
        status["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": finished}}
    return status


def waiting(reason: str, restarts: int = 0) -> dict:
    return {"name": "c", "ready": False, "restartCount": restarts,
            "state": {"waiting": {"reason": reason}}}


def terminated(reason: str = "", exit_code: int = 0, signal: int = 0) -> dict:
    term: dict[str, Any] = {"exitCode": exit_code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": "c", "ready": False, "restartCount": 0, "state": {"terminated": term}}


def cells(obj: dict) -> list:
    assert PODS is not None
    return table.rows(PODS, [obj], now=NOW)[0]["cells"]


@pytest.mark.parametrize("obj,ready,status,restarts", [
    (pod(phase="Pending"), "0/1", "Pending", "0"),
    (pod(statuses=[waiting("ContainerCreating")], phase="Pending"), "0/1", "ContainerCreating", "0"),
    (pod(statuses=[running()]), "1/1", "Running", "0"),
    (pod(2, [running(), running(ready=False)]), "1/2", "Running", "0"),
    (pod(statuses=[waiting("CrashLoopBackOff", 3)]), "0/1", "CrashLoopBackOff", "3"),
    (pod(statuses=[running(restarts=3, finished="2025-01-01T11:55:00Z")]), "1/1", "Running",
     "3 (5m ago)"),
    (pod(statuses=[terminated("Completed")], phase="Succeeded"), "0/1", "Completed", "0"),
    (pod(statuses=[terminated("Error", 1)], phase="Failed"), "0/1", "Error", "0"),
    (pod(statuses=[terminated(exit_code=2)]), "0/1", "ExitCode:2", "0"),
    (pod(statuses=[terminated(exit_code=137, signal=9)]), "0/1", "Signal:9", "0"),
    (pod(phase="Failed", status__reason="Evicted"), "0/1", "Evicted", "0"),
    (pod(phase="Pending", status__conditions=[
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]),
     "0/1", "SchedulingGated", "0"),
], ids=["pending", "creating", "running", "half-ready", "crashloop", "restart-age", "completed",
        "error", "exit-code", "signal", "evicted", "gated"])
def test_pod_status_columns(obj: dict, ready: str, status: str, restarts: str) -> None:
    assert cells(obj)[1:4] == [ready, status, restarts]


def test_completed_container_beside_running_one_shows_running_or_not_ready() -> None:
    obj = pod(2, [terminated("Completed"), running()])
    assert cells(obj)[2] == "NotReady"
    obj["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    assert cells(obj)[2] == "Running"


@pytest.mark.parametrize("init_statuses,status", [
    ([], "PodInitializing"),
    ([{"name": "i0", "restartCount": 0, "state": {"running": {}}}], "Init:0/2"),
    ([terminated("Completed") | {"name": "i0"},
      {"name": "i1", "restartCount": 0, "state": {"running": {}}}], "Init:1/2"),
    ([waiting("CrashLoopBackOff", 2) | {"name": "i0"}], "Init:CrashLoopBackOff"),
    ([waiting("PodInitializing") | {"name": "i0"}], "Init:0/2"),
    ([terminated(exit_code=3) | {"name": "i0"}], "Init:ExitCode:3"),
    ([terminated("Error", 1) | {"name": "i0"}], "Init:Error"),
])
def test_init_container_status(init_statuses: list[dict], status: str) -> None:
    obj = pod(init=[{"name": "i0"}, {"name": "i1"}], init_statuses=init_statuses,
              phase="Pending", statuses=[waiting("PodInitializing")])
    assert cells(obj)[2] == status


def test_init_restarts_count_while_initializing() -> None:
    obj = pod(init=[{"name": "i0"}], init_statuses=[waiting("CrashLoopBackOff", 4) | {"name": "i0"}],
              phase="Pending")
    assert cells(obj)[1:4] == ["0/1", "Init:CrashLoopBackOff", "4"]


def test_started_sidecar_counts_as_a_ready_container() -> None:
    sidecar = {"name": "proxy", "restartPolicy": "Always"}
    status = {"name": "proxy", "ready": True, "started": True, "restartCount": 1,
              "state": {"running": {}}}
    obj = pod(init=[sidecar], init_statuses=[status], statuses=[running()],
              status__conditions=[{"type": "Initialized", "status": "True"}])
    assert cells(obj)[1:4] == ["2/2", "Running", "1"]


@pytest.mark.parametrize("phase,reason,status", [
    ("Running", "", "Terminating"),
    ("Running", "NodeLost", "Unknown"),
    ("Succeeded", "", "Completed"),
])
def test_deleting_pod(phase: str, reason: str, status: str) -> None:
    obj = pod(statuses=[terminated("Completed")] if phase == "Succeeded" else [running()],
              phase=phase)
    obj["metadata"]["deletionTimestamp"] = "2025-01-01T11:59:00Z"
    if reason:
        obj["status"]["reason"] = reason
    assert cells(obj)[2] == status


def test_wide_columns() -> None:
    obj = pod(statuses=[running()], spec__nodeName="node-1",
              spec__readinessGates=[{"conditionType": "a"}, {"conditionType": "b"}],
              status__podIPs=[{"ip": "10.1.0.7"}, {"ip": "fd00::7"}],
              status__nominatedNodeName="node-2",
              status__conditions=[{"type": "a", "status": "True"}, {"type": "b", "status": "False"}])
    assert cells(obj) == ["web", "1/1", "Running", "0", "5m", "10.1.0.7", "node-1", "node-2", "1/2"]
    assert cells(pod())[5:] == ["<none>", "<none>", "<none>", "<none>"]


def test_pod_columns_and_completed_row_condition() -> None:
    assert PODS is not None
    defs = table.column_definitions(PODS)
    assert [(c["name"], c["priority"]) for c in defs] == [
        ("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
        ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    assert defs[0]["format"] == "name"
    row = table.rows(PODS, [pod(statuses=[terminated("Completed")], phase="Succeeded")], now=NOW)[0]
    assert row["conditions"][0]["type"] == "Completed"
    assert "conditions" not in table.rows(PODS, [pod()], now=NOW)[0]
