"""The stats summary: CPU rates over the window between two samples, which containers
and pods appear, and the upstream field names."""

from __future__ import annotations

from dataclasses import dataclass, field

from kubelite.agent.kubelet import statsprovider
from kubelite.agent.runtime import hoststats, protocol


def _sandbox(sid: str, name: str, state: str = protocol.SANDBOX_READY) -> protocol.PodSandboxStatus:
    cfg = protocol.PodSandboxConfig(name=name, namespace="ns", uid=f"uid-{name}")
    return protocol.PodSandboxStatus(id=sid, config=cfg, state=state, created_at=1000.0,
                                     netns_path="")


@dataclass
class FakeRuntime:
    """Sandboxes and containers whose cgroup figures the test sets."""

    sandboxes: list[protocol.PodSandboxStatus] = field(default_factory=list)
    containers: dict[str, protocol.ContainerStatus] = field(default_factory=dict)
    usage: dict[str, protocol.ContainerStats] = field(default_factory=dict)

    def run(self, cid: str, sid: str, name: str, *, state: str = protocol.RUNNING) -> None:
        self.containers[cid] = protocol.ContainerStatus(
            id=cid, name=name, sandbox_id=sid, image="i", image_ref="i", state=state,
            created_at=1000.0, started_at=1001.0)

    def use(self, cid: str, at: float, cpu_ns: int, working_set: int, limit: int = 0) -> None:
        self.usage[cid] = protocol.ContainerStats(
            id=cid, timestamp=at, cpu_usage_ns=cpu_ns, memory_usage_bytes=working_set + 100,
            memory_working_set_bytes=working_set, memory_limit_bytes=limit, pids=1,
            oom_kills=0)

    async def list_pod_sandboxes(self) -> list[protocol.PodSandboxStatus]:
        return self.sandboxes

    async def list_containers(self, sandbox_id: str | None = None) -> list[protocol.ContainerStatus]:
        return [c for c in self.containers.values() if sandbox_id in (None, c.sandbox_id)]

    async def container_stats(self, container_id: str) -> protocol.ContainerStats:
        return self.usage[container_id]


class Host:
    def __init__(self) -> None:
        self.now, self.cpu_ns = 2000.0, 0

    def read(self) -> hoststats.HostUsage:
        return hoststats.HostUsage(cpu_usage_ns=self.cpu_ns, memory_usage_bytes=900,
                                   memory_working_set_bytes=800, memory_total_bytes=4000,
                                   boot_time=10.0)


def _provider(rt: FakeRuntime, host: Host) -> statsprovider.StatsProvider:
    return statsprovider.StatsProvider(rt, "node-a", min_window=1e12,  # refresh by hand
                                       host=host.read, clock=lambda: host.now)


async def test_rates_need_two_samples() -> None:
    rt, host = FakeRuntime(sandboxes=[_sandbox("s1", "web")]), Host()
    rt.run("c1", "s1", "main")
    rt.use("c1", 2000.0, 1_000_000_000, 5000, limit=8000)
    provider = _provider(rt, host)
    await provider.refresh()
    first = await provider.summary()
    [pod] = first["pods"]
    assert "usageNanoCores" not in pod["containers"][0]["cpu"]
    assert "usageNanoCores" not in first["node"]["cpu"] and "usageNanoCores" not in pod["cpu"]
    rt.use("c1", 2004.0, 3_000_000_000, 6000, limit=8000)   # 2 s of CPU in 4 s: half a core
    host.now, host.cpu_ns = 2004.0, 6_000_000_000
    await provider.refresh()
    summary = await provider.summary()
    assert summary["node"] == {
        "nodeName": "node-a", "startTime": "1970-01-01T00:00:10Z",
        "cpu": {"time": "1970-01-01T00:33:24Z", "usageNanoCores": 1_500_000_000,
                "usageCoreNanoSeconds": 6_000_000_000},
        "memory": {"time": "1970-01-01T00:33:24Z", "usageBytes": 900, "workingSetBytes": 800,
                   "availableBytes": 3200}}
    [pod] = summary["pods"]
    assert pod["podRef"] == {"name": "web", "namespace": "ns", "uid": "uid-web"}
    assert pod["containers"] == [{
        "name": "main", "startTime": "1970-01-01T00:16:41Z",
        "cpu": {"time": "1970-01-01T00:33:24Z", "usageNanoCores": 500_000_000,
                "usageCoreNanoSeconds": 3_000_000_000},
        "memory": {"time": "1970-01-01T00:33:24Z", "usageBytes": 6100, "workingSetBytes": 6000,
                   "availableBytes": 2000}}]
    assert pod["cpu"]["usageNanoCores"] == 500_000_000 and pod["memory"]["workingSetBytes"] == 6000


async def test_only_running_containers_of_ready_sandboxes() -> None:
    rt, host = FakeRuntime(sandboxes=[_sandbox("s1", "web"),
                                      _sandbox("s2", "gone", protocol.SANDBOX_NOT_READY)]), Host()
    rt.run("a", "s1", "app")
    rt.run("b", "s1", "sidecar")
    rt.run("old", "s1", "app", state=protocol.EXITED)
    rt.run("c", "s2", "app")
    for cid in ("a", "b", "old", "c"):
        rt.use(cid, 2000.0, 10, 10)
    provider = _provider(rt, host)
    await provider.refresh()
    [pod] = (await provider.summary())["pods"]
    assert [c["name"] for c in pod["containers"]] == ["app", "sidecar"]


async def test_a_restarted_container_starts_a_new_window() -> None:
    rt, host = FakeRuntime(sandboxes=[_sandbox("s1", "web")]), Host()
    rt.run("first", "s1", "app")
    rt.use("first", 2000.0, 5_000_000_000, 10)
    provider = _provider(rt, host)
    await provider.refresh()
    del rt.containers["first"]
    rt.run("second", "s1", "app")
    rt.use("second", 2001.0, 100, 10)
    await provider.refresh()
    [pod] = (await provider.summary())["pods"]
    assert "usageNanoCores" not in pod["containers"][0]["cpu"]


def test_nano_cores_refuses_a_counter_going_back() -> None:
    prev = statsprovider.Sample(10.0, 500, 0, 0, 0)
    assert statsprovider.nano_cores(prev, statsprovider.Sample(11.0, 400, 0, 0, 0)) is None
    assert statsprovider.nano_cores(prev, statsprovider.Sample(10.0, 900, 0, 0, 0)) is None
    assert statsprovider.nano_cores(None, prev) is None
    assert statsprovider.nano_cores(prev, statsprovider.Sample(12.0, 1500, 0, 0, 0)) == 500
