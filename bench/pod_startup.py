"""Pod startup latency as upstream's density test defines it: pod creationTimestamp to the
client seeing (over a watch) every container started, with the create -> scheduled ->
running -> watched breakdown, on one node with the bundled agent and a pre-imported image.

Server stamps (creationTimestamp, PodScheduled, startedAt) are RFC3339 seconds, so the
upstream-style figures carry up to 1 s of truncation; the client-side figures (create call
-> first watch event with nodeName -> first watch event with all containers started) are
exact. Also measured in the same run: raw `runc run` and `crun run` (bench/runtime.py) for
the agent's overhead ratios, and idle RSS of the server with and without its agent, and of a
standalone `kubelite agent`. The rounds run once per `--oci-runtime` given (the agent flag).
Needs root, runc, busybox, ip, unshare (crun optional). Run:

    .venv/bin/python bench/pod_startup.py [--pods 20 100] [--runc-n 20] [--oci-runtime runc crun]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import glob
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from bench import procstat
from bench import runtime as runtime_bench
from kubelite.agent.images import archive, store
from kubelite.agent.runtime import cgroups, ocibinary
from kubelite.client import rest
from tests.agent.images import builder
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

NS = "default"
SETTLE = 10.0  # seconds a fresh process is left alone before its idle RSS is read
STEPS = ("create->scheduled", "scheduled->running", "running->watched", "e2e (upstream)",
         "client create->bound seen", "client create->running seen")


def stamp(value: str) -> float:
    return datetime.datetime.fromisoformat(value).timestamp()


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS,
                                                            "labels": {"bench": "startup"}},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                "name": "main", "image": agentenv.IMAGE, "imagePullPolicy": "Never",
                "command": ["sh", "-c", "exec sleep 3600"]}]}}


def all_started(obj: dict[str, Any]) -> bool:
    st = obj.get("status") or {}
    cs = st.get("containerStatuses") or []
    n = len(obj["spec"]["containers"])
    return len(cs) == n and all(c.get("started") and "running" in (c.get("state") or {})
                                for c in cs)


class Tracker:
    """Per pod: client times of create return / nodeName seen / all started seen, and the
    server stamps of the object that showed all containers started."""

    def __init__(self, names: list[str]) -> None:
        self.rows: dict[str, dict[str, Any]] = {n: {} for n in names}
        self.running = asyncio.Event()
        self.gone = asyncio.Event()
        self.deleted: set[str] = set()

    def on_event(self, ev: dict[str, Any], now: float) -> None:
        obj = ev["object"]
        name = str((obj.get("metadata") or {}).get("name", ""))
        row = self.rows.get(name)
        if row is None:
            return
        if ev["type"] == "DELETED":
            self.deleted.add(name)
            if len(self.deleted) == len(self.rows):
                self.gone.set()
            return
        if obj["spec"].get("nodeName") and "bound" not in row:
            row["bound"] = now
        if all_started(obj) and "watched" not in row:
            row["watched"] = now
            row["obj"] = obj
            if all("watched" in r for r in self.rows.values()):
                self.running.set()

    def figures(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {k: [] for k in STEPS}
        for row in self.rows.values():
            obj = row["obj"]
            created = stamp(obj["metadata"]["creationTimestamp"])
            conds = {c["type"]: c for c in obj["status"]["conditions"]}
            scheduled = stamp(conds["PodScheduled"]["lastTransitionTime"])
            running = max(stamp(c["state"]["running"]["startedAt"])
                          for c in obj["status"]["containerStatuses"])
            for key, value in zip(STEPS, (
                    scheduled - created, running - scheduled, row["watched"] - running,
                    row["watched"] - created, row["bound"] - row["sent"],
                    row["watched"] - row["sent"])):
                out[key].append(value)
        return out


async def watch(client: rest.Client, tracker: Tracker, rv: str) -> None:
    rt = client.resource("v1", "Pod")
    async for ev in client.watch(rt, NS, resource_version=rv, label_selector="bench=startup",
                                 timeout_seconds=900, bookmarks=False):
        tracker.on_event(ev, time.time())


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user+system) of process `pid` and of its reaped children (runc, crun, ...)."""
    return procstat.cpu_seconds(pid), procstat.reaped_children_cpu_seconds(pid)


def live_children_cpu(pid: int) -> dict[int, tuple[str, float]]:
    """Name and CPU time of each running child of `pid`: the server's own child processes
    (the scheduler, ...), which the reaped-children figure does not count until they exit."""
    out: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name, fields = stat[stat.find("(") + 1:stat.rfind(")")], stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out[int(entry)] = (name, (int(fields[11]) + int(fields[12])) / procstat.TICK)
    return out


def live_delta(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> str:
    """CPU spent between the two readings by each command still running at the second."""
    spent: dict[str, float] = {}
    for child, (name, cpu) in after.items():
        spent[name] = spent.get(name, 0.0) + cpu - before.get(child, (name, 0.0))[1]
    return ", ".join(f"{name} {cpu:.2f} s" for name, cpu in sorted(spent.items()) if cpu >= 0.005)


async def one_round(kubeconfig: str, n: int, prefix: str, server_pid: int = 0
                    ) -> tuple[dict[str, list[float]], list[str]]:
    """Create n pods at once, wait until all are seen running, delete them, wait until gone.
    With `server_pid`, also print the server's CPU time spent while the pods started."""
    client = rest.Client.from_kubeconfig(kubeconfig, user_agent="bench-pod-startup")
    rt = client.resource("v1", "Pod")
    names = [f"{prefix}-{i}" for i in range(n)]
    tracker = Tracker(names)
    try:
        rv = (await client.list(rt, NS))["metadata"]["resourceVersion"]
        watcher = asyncio.create_task(watch(client, tracker, rv))

        async def create(name: str) -> str:
            tracker.rows[name]["sent"] = time.time()
            created = await client.create(rt, pod(name), NS)
            return str(created["metadata"]["uid"])
        before = cpu_seconds(server_pid) if server_pid else (0.0, 0.0)
        live = live_children_cpu(server_pid) if server_pid else {}
        uids = await asyncio.gather(*(create(name) for name in names))
        await asyncio.wait_for(tracker.running.wait(), 600)
        if server_pid:
            after = cpu_seconds(server_pid)
            running = live_delta(live, live_children_cpu(server_pid)) or "none"
            print(f"\nserver CPU while {n} pods started: {after[0] - before[0]:.2f} s, its exited "
                  f"child processes (runc, crun, ...) {after[1] - before[1]:.2f} s, its running "
                  f"ones: {running}")
        figures = tracker.figures()
        await asyncio.gather(*(client.delete(rt, name, NS) for name in names))
        await asyncio.wait_for(tracker.gone.wait(), 600)
        watcher.cancel()
    finally:
        await client.close()
    return figures, uids


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def report(n: int, runtime: str, figures: dict[str, list[float]], raws: dict[str, float]) -> None:
    print(f"\n{n} pods created at once, agent --oci-runtime {runtime} "
          "(seconds; server stamps have 1 s resolution):")
    print(f"  {'step':30s} {'p50':>7s} {'p90':>7s} {'p99':>7s} {'max':>7s}")
    for key, values in figures.items():
        print(f"  {key:30s} " + " ".join(f"{pct(values, q):7.3f}" for q in (.5, .9, .99, 1.0)))
    used = ocibinary.resolve(runtime).name
    for key in ("e2e (upstream)", "client create->running seen"):
        for name, raw in raws.items():
            mark = " (the runtime used)" if name == used else ""
            print(f"  ratio {key} p50 / raw {name} run: {pct(figures[key], .5) / raw:.1f}{mark}")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return kb / 1024


def settled_rss(pid: int) -> float:
    time.sleep(SETTLE)  # idle means idle: let start-up work (and its garbage) finish
    return rss_mib(pid)


def prepare(base: str) -> tuple[str, tuple[str, ...]]:
    """A data dir whose agent image store already holds the busybox image."""
    data = os.path.join(base, "data")
    images = store.Store(os.path.join(data, "agent", "images"))
    builder.Image([builder.busybox_layer()], workdir="/www").docker_save(
        os.path.join(base, "bb.tar"), agentenv.IMAGE)
    [image] = archive.import_archive(images, os.path.join(base, "bb.tar"))
    return data, tuple(images.layer_dirs(image))


def start(data: str, base: str, *flags: str) -> cluster_mod.Cluster:
    c = cluster_mod.start(data, os.path.join(base, "home"), "--kubelet-port", "0", *flags)
    if "agent" not in flags:
        c.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")
    return c


def run_rounds(base: str, data: str, sizes: list[int], runtimes: list[str],
               raws: dict[str, float]) -> tuple[dict[str, float], list[str]]:
    rss: dict[str, float] = {}
    uids: list[str] = []
    for runtime in runtimes:
        for n in sizes:
            c = start(data, base, "--max-pods", "110" if n > 20 else "0", "--oci-runtime", runtime)
            try:
                if not rss:
                    rss["server+agent idle"] = settled_rss(c.proc.pid)
                figures, got = asyncio.run(one_round(c.kubeconfig, n, f"s{n}", c.proc.pid))
                uids += got
                report(n, runtime, figures, raws)
                rss[f"server+agent idle after {n} pods ({runtime})"] = settled_rss(c.proc.pid)
            finally:
                c.stop()
                agentenv.force_cleanup(os.path.join(data, "agent"))
    return rss, uids


def raw_runs(base: str, layers: tuple[str, ...], n: int) -> dict[str, float]:
    """Median `runc run` and (where usable) `crun run` of /bin/true, measured back to back."""
    binaries = [ocibinary.RUNC] + ([crun] if (crun := ocibinary.crun()) else [])
    raws = {b.name: statistics.median(runtime_bench.raw_runc(base, layers, n, b)) for b in binaries}
    for b in binaries:
        how = f" (as {' '.join(b.run_prefix[:4])} ...)" if b.run_prefix else ""
        print(f"raw `{b.name} run` of /bin/true{how}, median of {n}: {raws[b.name] * 1000:.1f} ms")
    if "crun" in raws:
        print(f"ratio raw crun run / raw runc run: {raws['crun'] / raws['runc']:.2f}")
    return raws


def wait_node(c: cluster_mod.Cluster, proc: subprocess.Popen[bytes]) -> None:
    """Poll (another process) until the standalone agent's node registered, then until Ready."""
    deadline = time.monotonic() + 60
    while not c.kubectl("get", "nodes", "-o", "name").stdout.strip():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("standalone agent did not register its node")
        time.sleep(0.5)
    c.kubectl("wait", "--for=condition=Ready", "node", "--all", "--timeout=60s")


def standalone_agent_rss(base: str) -> dict[str, float]:
    """Server without its agent, then `kubelite agent` joining it as its own process."""
    data = os.path.join(base, "data-noagent")
    c = start(data, base, "--disable", "agent")
    rss = {"server --disable agent idle": settled_rss(c.proc.pid)}
    token = re.search(r"node token: (\S+)", c.server_log())
    ca = glob.glob(os.path.join(data, "**", "ca.crt"), recursive=True)
    agent_dir = os.path.join(base, "standalone")
    proc = None
    try:
        if token and ca:
            proc = subprocess.Popen(
                [sys.executable, "-m", "kubelite.cli", "agent", "--server", c.url, "--token",
                 token.group(1), "--ca-file", ca[0], "--data-dir", agent_dir, "--kubelet-port", "0"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_node(c, proc)
            rss["standalone kubelite agent idle"] = settled_rss(proc.pid)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        c.stop()
        agentenv.force_cleanup(os.path.join(agent_dir, "agent"))
    return rss


def leftovers(base: str, uids: list[str]) -> list[str]:
    """Anything of ours still on the host: mounts under base, pod cgroups, pod netns."""
    with open("/proc/mounts") as f:
        found = [line.split()[1] for line in f if base in line]
    found += [d for uid in uids for d in cgroups.dirs(f"/kubelite/pod{uid}")]
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                           check=False).stdout
    sandboxes = glob.glob(os.path.join(base, "*", "agent", "runtime", "sandboxes", "*"))
    found += [s for s in sandboxes if "kubelite-" + os.path.basename(s) in netns]
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--runc-n", type=int, default=20)
    parser.add_argument("--oci-runtime", nargs="+", default=["auto"], choices=ocibinary.CHOICES,
                        help="run the rounds once with each of these agent runtimes")
    args = parser.parse_args()
    if why := agentenv.why_not():
        sys.exit(f"pod startup benchmark: {why}")
    with tempfile.TemporaryDirectory(prefix="kubelite-podstart-") as base:
        data, layers = prepare(base)
        raws = raw_runs(base, layers, args.runc_n)
        rss, uids = run_rounds(base, data, args.pods, args.oci_runtime, raws)
        rss.update(standalone_agent_rss(base))
        print("\nidle RSS (MiB):")
        for key, value in rss.items():
            print(f"  {key:40s} {value:7.1f}")
        if "server --disable agent idle" in rss:
            share = rss["server+agent idle"] - rss["server --disable agent idle"]
            print(f"  {'agent share of the server':40s} {share:7.1f}")
        left = leftovers(base, uids)
        print("host clean: " + ("yes" if not left else f"NO: {left}"))


if __name__ == "__main__":
    main()
