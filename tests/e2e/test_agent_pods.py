"""The bundled node agent runs real pods: the real kubectl against a server with its agent.

Needs root, runc, busybox, ip and unshare; skipped otherwise. The busybox image is built
from the host's static busybox and imported into the agent's image store before start.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from kubelite.agent.runtime import cgroups, logs
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "kubelite-agent-e2e"


def _netns() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def agent_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    yield from agentenv.running_cluster(tmp_path_factory, NS)


def pod_yaml(name: str, command: str, **kw: Any) -> str:
    return agentenv.pod_yaml(name, NS, command, **kw)


def wait(c: cluster_mod.Cluster, name: str, cond: str, timeout: int = 60) -> None:
    c.kubectl("wait", "-n", NS, f"pod/{name}", f"--for={cond}", f"--timeout={timeout}s",
              timeout=timeout + 10)


def get(c: cluster_mod.Cluster, name: str) -> dict:  # type: ignore[type-arg]
    return c.kubectl_json("get", "pod", name, "-n", NS)  # type: ignore[no-any-return]


HTTPD_READY = """    readinessProbe:
      httpGet: {path: /index.html, port: 8080}
      periodSeconds: 1
"""


def test_httpd_pod_becomes_running_and_ready(agent_cluster: cluster_mod.Cluster) -> None:
    c = agent_cluster
    c.kubectl("apply", "-f", "-", input=pod_yaml("web", "exec httpd -f -p 8080 -h /www",
                                                   container_extra=HTTPD_READY))
    wait(c, "web", "condition=Ready")
    row = c.kubectl("get", "pod", "web", "-n", NS, "--no-headers").stdout.split()
    assert row[1:3] == ["1/1", "Running"]
    st = get(c, "web")["status"]
    assert st["phase"] == "Running"
    assert st["hostIP"] == "127.0.0.1" and st["startTime"]
    cs = st["containerStatuses"][0]
    assert cs["containerID"].startswith("runc://") and cs["started"] and cs["ready"]
    assert {x["type"]: x["status"] for x in st["conditions"]} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True",
        "ContainersReady": "True", "PodScheduled": "True"}


def test_crashing_container_reaches_crashloopbackoff(agent_cluster: cluster_mod.Cluster) -> None:
    c = agent_cluster
    c.kubectl("apply", "-f", "-", input=pod_yaml("crash", "exit 1"))
    wait(c, "crash", "jsonpath={.status.containerStatuses[0].state.waiting.reason}=CrashLoopBackOff")
    row = c.kubectl("get", "pod", "crash", "-n", NS, "--no-headers").stdout.split()
    assert row[1:3] == ["0/1", "CrashLoopBackOff"]
    cs = get(c, "crash")["status"]["containerStatuses"][0]
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["restartCount"] >= 1


def test_missing_executable_fails_the_start(agent_cluster: cluster_mod.Cluster) -> None:
    """As with containerd: the container is created, its start fails, and it stays exited
    with code 128 and reason StartError; restartPolicy Never leaves the pod Failed."""
    c = agent_cluster
    yaml = pod_yaml("nobin", "true", restart="Never").replace(
        '["sh", "-c", "true"]', '["/no/such/binary"]')
    c.kubectl("apply", "-f", "-", input=yaml)
    wait(c, "nobin", "jsonpath={.status.phase}=Failed")
    row = c.kubectl("get", "pod", "nobin", "-n", NS, "--no-headers").stdout.split()
    assert row[1:3] == ["0/1", "StartError"]
    term = get(c, "nobin")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (128, "StartError")
    assert "no such file" in term["message"].lower()
    events = c.kubectl_json("get", "events", "-n", NS, "--field-selector",
                            "involvedObject.name=nobin")["items"]
    assert any(e["reason"] == "Failed" and "failed to start container" in e["message"]
               for e in events)


def test_failing_liveness_probe_restarts_container(agent_cluster: cluster_mod.Cluster) -> None:
    c = agent_cluster
    probe = """    livenessProbe:
      exec: {command: ["test", "-f", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 2
"""
    c.kubectl("apply", "-f", "-", input=pod_yaml("live", "exec sleep 3600", container_extra=probe,
                                                   grace=1))
    wait(c, "live", "jsonpath={.status.containerStatuses[0].restartCount}=1")
    events = c.kubectl("get", "events", "-n", NS, "--field-selector", "involvedObject.name=live").stdout
    assert "Liveness probe failed" in events


def test_readiness_probe_gates_ready(agent_cluster: cluster_mod.Cluster) -> None:
    c = agent_cluster
    extra = "  volumes:\n  - name: shared\n    emptyDir: {}\n"
    probe = """    readinessProbe:
      exec: {command: ["cat", "/shared/ready"]}
      periodSeconds: 1
    volumeMounts: [{name: shared, mountPath: /shared}]
"""
    c.kubectl("apply", "-f", "-", input=pod_yaml("gate", "exec sleep 3600", extra=extra,
                                                   container_extra=probe))
    wait(c, "gate", "jsonpath={.status.containerStatuses[0].started}=true")
    pod = get(c, "gate")
    conds = {x["type"]: x for x in pod["status"]["conditions"]}
    assert conds["Ready"]["status"] == "False" and conds["Ready"]["reason"] == "ContainersNotReady"
    assert c.kubectl("get", "pod", "gate", "-n", NS, "--no-headers").stdout.split()[1] == "0/1"
    shared = os.path.join(c.data_dir, "agent", "pods", pod["metadata"]["uid"], "volumes", "shared")
    with open(os.path.join(shared, "ready"), "w") as f:
        f.write("yes\n")
    wait(c, "gate", "condition=Ready")


def test_memory_hog_is_oomkilled(agent_cluster: cluster_mod.Cluster) -> None:
    c = agent_cluster
    limits = "    resources: {limits: {memory: 32Mi}}\n"
    c.kubectl("apply", "-f", "-", input=pod_yaml("hog", "tail /dev/zero", restart="Never",
                                                   container_extra=limits))
    wait(c, "hog", "jsonpath={.status.phase}=Failed")
    term = get(c, "hog")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["reason"] == "OOMKilled" and term["exitCode"] == 137
    assert c.kubectl("get", "pod", "hog", "-n", NS, "--no-headers").stdout.split()[2] == "OOMKilled"


def test_configmap_volume_and_env(agent_cluster: cluster_mod.Cluster) -> None:
    c = agent_cluster
    c.kubectl("create", "configmap", "greeting", "-n", NS, "--from-literal=hello=kubelite-cm")
    extra = "  volumes:\n  - name: cfg\n    configMap: {name: greeting}\n"
    mount = """    volumeMounts: [{name: cfg, mountPath: /etc/cfg}]
    env:
    - name: FROM_CM
      valueFrom: {configMapKeyRef: {name: greeting, key: hello}}
"""
    c.kubectl("apply", "-f", "-", input=pod_yaml("cm", 'cat /etc/cfg/hello; echo; echo "env=$FROM_CM"',
                                                   restart="Never", extra=extra, container_extra=mount))
    wait(c, "cm", "jsonpath={.status.phase}=Succeeded")
    uid = get(c, "cm")["metadata"]["uid"]
    path = os.path.join(c.data_dir, "agent", "logs", f"{NS}_cm_{uid}", "main", "0.log")
    assert b"".join(logs.read(path)) == b"kubelite-cm\nenv=kubelite-cm\n"


def test_delete_stops_within_grace_and_cleans_host(agent_cluster: cluster_mod.Cluster) -> None:
    c = agent_cluster
    extra = "  volumes:\n  - name: mem\n    emptyDir: {medium: Memory}\n"
    mount = "    volumeMounts: [{name: mem, mountPath: /mem}]\n"
    c.kubectl("apply", "-f", "-", input=pod_yaml("stubborn", "trap '' TERM; sleep 3600 & wait",
                                                   extra=extra, container_extra=mount, grace=3))
    wait(c, "stubborn", "condition=Ready")
    pod = get(c, "stubborn")
    uid = pod["metadata"]["uid"]
    cid = pod["status"]["containerStatuses"][0]["containerID"].removeprefix("runc://")
    agent = os.path.join(c.data_dir, "agent")
    with open(os.path.join(agent, "runtime", "containers", cid, "status.json")) as f:
        netns = "kubelite-" + json.load(f)["sandbox_id"]
    assert netns in _netns()
    started = time.monotonic()
    c.kubectl("delete", "pod", "stubborn", "-n", NS, "--timeout=60s", timeout=70)
    elapsed = time.monotonic() - started
    assert 2.5 <= elapsed < 3 + 10  # SIGTERM is ignored: SIGKILL once the 3 s grace ran out
    assert netns not in _netns()
    assert cgroups.dirs(f"/kubelite/pod{uid}") == []
    with open("/proc/mounts") as f:
        assert [line for line in f if uid in line or cid in line] == []
    assert not os.path.exists(os.path.join(agent, "pods", uid))
