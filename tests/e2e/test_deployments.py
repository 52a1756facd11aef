"""Deployments rolled out by the real kubectl against a real server.

The server runs with its own controllers switched off; this module runs the Deployment
and ReplicaSet controllers in-process (in a thread with its own event loop), plus a tiny
fake kubelet that marks every new pod Running and Ready through pods/status, since no
node runs them. Everything else is kubectl as a user types it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import replicaset
from kubelite.controllers.deployment import DeploymentController
from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e

Obj = dict[str, Any]
_names = itertools.count()


class FakeKubelet:
    """Marks pods Running and Ready as soon as they appear (what a node would report),
    except pods whose image tag is `broken`: those never start."""

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        self.client = client
        self.rt = client.resource("v1", "Pod")
        self.pending: asyncio.Queue[Obj] = asyncio.Queue()
        inf = informers.informer("v1", "Pod", controller=informer.by_controller)
        inf.add_handlers(informer.Handlers(on_add=self.pending.put_nowait))

    async def run(self) -> None:
        while True:
            pod = await self.pending.get()
            image = pod["spec"]["containers"][0]["image"]
            if pod["metadata"].get("deletionTimestamp") or image.endswith(":broken") or \
                    pod.get("status", {}).get("phase") == "Running":
                continue
            stamp = events.now()
            status = {"phase": "Running", "startTime": stamp, "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": stamp}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")]}
            try:
                await self.client.patch(self.rt, pod["metadata"]["name"], {"status": status},
                                        namespace=pod["metadata"]["namespace"],
                                        subresource="status")
            except errors.APIError as e:
                if not errors.is_not_found(e):
                    raise


class Controllers:
    """The Deployment and ReplicaSet controllers and the fake kubelet on a private loop."""

    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete,
                                       args=(self._main(),), daemon=True)
        self.failure: BaseException | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()

    def start(self) -> None:
        self.thread.start()
        assert self._started.wait(30), "controllers did not start"

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(30)
        self.loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        client = rest.Client.from_kubeconfig(self.kubeconfig, user_agent="test-controllers")
        informers = factory.InformerFactory(client)
        rs_ctl = replicaset.ReplicaSetController(client, informers)
        d_ctl = DeploymentController(client, informers)
        kubelet = FakeKubelet(client, informers)
        informers.start()
        tasks = [asyncio.create_task(c) for c in (rs_ctl.run(2), d_ctl.run(2), kubelet.run())]
        await informers.wait_synced()
        self._started.set()
        stopper = asyncio.create_task(self._stop.wait())
        await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
        for t in tasks:
            if t.done() and t.exception() is not None:
                self.failure = t.exception()
        for c in (rs_ctl, d_ctl):
            c.queue.shut_down()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        stopper.cancel()
        await informers.stop()
        # Event writes still in flight finish before the connection pool closes.
        others = asyncio.all_tasks() - {asyncio.current_task()}
        await asyncio.gather(*others, return_exceptions=True)
        await client.close()
        # aiohttp's documented graceful shutdown: TLS transports of cancelled watches need
        # a few loop turns to finish closing before the loop itself is closed.
        await asyncio.sleep(0.25)


@pytest.fixture(scope="module")
def kube(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    """A server without its own controllers, with ours running in this process."""
    base = tmp_path_factory.mktemp("deployments")
    c = cluster_mod.start(str(base / "data"), str(base / "home"), "--disable",
                          "agent,controllers,scheduler")
    ctl = Controllers(c.kubeconfig)
    try:
        ctl.start()
        yield c
    finally:
        ctl.stop()
        c.stop()
    assert ctl.failure is None, f"controller task failed: {ctl.failure!r}"


@pytest.fixture
def ns(kube: cluster_mod.Cluster) -> str:
    name = f"dep{next(_names)}-{os.getpid() % 10000}"
    kube.kubectl("create", "namespace", name)
    return name


def replicasets(kube: cluster_mod.Cluster, ns: str) -> list[Obj]:
    items = kube.kubectl_json("get", "rs", "-n", ns, "-l", "app=web")["items"]
    return sorted(items, key=lambda rs: int(
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]))


def rollout_status(kube: cluster_mod.Cluster, ns: str) -> str:
    res = kube.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s",
                       timeout=90)
    return res.stdout


def test_create_wait_and_scale(kube: cluster_mod.Cluster, ns: str) -> None:
    kube.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=5", "-n", ns)
    out = rollout_status(kube, ns)
    assert 'deployment "web" successfully rolled out' in out
    kube.kubectl("wait", "--for=condition=Available", "deployment/web", "-n", ns,
                 "--timeout=60s", timeout=90)
    [rs] = replicasets(kube, ns)
    h = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{h}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": h}
    d = kube.kubectl_json("get", "deployment", "web", "-n", ns)
    assert {k: d["status"][k] for k in ("replicas", "updatedReplicas", "readyReplicas",
                                        "availableReplicas")} == {
        "replicas": 5, "updatedReplicas": 5, "readyReplicas": 5, "availableReplicas": 5}
    reasons = {c["type"]: c["reason"] for c in d["status"]["conditions"]}
    assert reasons == {"Available": "MinimumReplicasAvailable",
                       "Progressing": "NewReplicaSetAvailable"}
    evs = kube.kubectl_json("get", "events", "-n", ns,
                            "--field-selector", "reason=ScalingReplicaSet")["items"]
    assert f"Scaled up replica set web-{h} from 0 to 5" in {e["message"] for e in evs}
    kube.kubectl("scale", "deployment/web", "--replicas=2", "-n", ns)
    rollout_status(kube, ns)
    pods = kube.kubectl("get", "pods", "-n", ns, "-l", "app=web", "-o", "name").stdout.split()
    assert len(pods) == 2
    row = kube.kubectl("get", "deployment", "web", "-n", ns).stdout.splitlines()[1].split()
    assert row[:4] == ["web", "2/2", "2", "2"]


def test_set_image_history_and_undo(kube: cluster_mod.Cluster, ns: str) -> None:
    kube.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3", "-n", ns)
    rollout_status(kube, ns)
    kube.kubectl("set", "image", "deployment/web", "nginx=nginx:2", "-n", ns)
    rollout_status(kube, ns)
    first, second = replicasets(kube, ns)
    assert (first["spec"]["replicas"], second["spec"]["replicas"]) == (0, 3)
    assert second["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    history = kube.kubectl("rollout", "history", "deployment/web", "-n", ns).stdout
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    detail = kube.kubectl("rollout", "history", "deployment/web", "-n", ns,
                          "--revision=2").stdout
    assert "nginx:2" in detail
    kube.kubectl("rollout", "undo", "deployment/web", "-n", ns)
    rollout_status(kube, ns)
    again = replicasets(kube, ns)
    assert len(again) == 2
    assert again[-1]["metadata"]["name"] == first["metadata"]["name"]
    assert again[-1]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert again[-1]["spec"]["replicas"] == 3
    d = kube.kubectl_json("get", "deployment", "web", "-n", ns)
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"


def test_pause_holds_the_rollout_until_resume(kube: cluster_mod.Cluster, ns: str) -> None:
    kube.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", ns)
    rollout_status(kube, ns)
    kube.kubectl("rollout", "pause", "deployment/web", "-n", ns)
    kube.kubectl("set", "image", "deployment/web", "nginx=nginx:2", "-n", ns)
    kube.kubectl("scale", "deployment/web", "--replicas=3", "-n", ns)
    kube.kubectl("wait", "deployment/web", "-n", ns, "--timeout=60s",
                 "--for=jsonpath={.status.availableReplicas}=3", timeout=90)
    [rs] = replicasets(kube, ns)
    assert rs["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx"
    d = kube.kubectl_json("get", "deployment", "web", "-n", ns)
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("Unknown", "DeploymentPaused")
    kube.kubectl("rollout", "resume", "deployment/web", "-n", ns)
    rollout_status(kube, ns)
    old, new = replicasets(kube, ns)
    assert (old["spec"]["replicas"], new["spec"]["replicas"]) == (0, 3)
    assert new["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"


def test_restart_makes_a_new_replicaset(kube: cluster_mod.Cluster, ns: str) -> None:
    kube.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", ns)
    rollout_status(kube, ns)
    kube.kubectl("rollout", "restart", "deployment/web", "-n", ns)
    rollout_status(kube, ns)
    old, new = replicasets(kube, ns)
    assert old["spec"]["replicas"] == 0 and new["spec"]["replicas"] == 2
    ann = new["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in ann


RECREATE = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: web}
    spec:
      replicas: 3
      revisionHistoryLimit: 1
      strategy: {type: Recreate}
      selector: {matchLabels: {app: web}}
      template:
        metadata: {labels: {app: web}}
        spec:
          containers: [{name: nginx, image: "nginx:1"}]
    """)


def test_recreate_and_history_limit(kube: cluster_mod.Cluster, ns: str) -> None:
    kube.kubectl("apply", "-n", ns, "-f", "-", input=RECREATE)
    rollout_status(kube, ns)
    for image in ("nginx:2", "nginx:3"):
        kube.kubectl("set", "image", "deployment/web", f"nginx={image}", "-n", ns)
        rollout_status(kube, ns)
    kube.kubectl("wait", "deployment/web", "-n", ns, "--timeout=60s",
                 "--for=jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}=3",
                 timeout=90)
    pods = kube.kubectl_json("get", "pods", "-n", ns, "-l", "app=web")["items"]
    assert {p["spec"]["containers"][0]["image"] for p in pods} == {"nginx:3"}
    evs = kube.kubectl_json("get", "events", "-n", ns,
                            "--field-selector", "reason=ScalingReplicaSet")["items"]
    messages = [e["message"] for e in evs]
    assert any(m.startswith("Scaled down replica set web-") and m.endswith("from 3 to 0")
               for m in messages)
    revisions = [rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                 for rs in replicasets(kube, ns)]
    assert len(revisions) <= 2 and revisions[-1] == "3"
    assert json.loads(kube.kubectl("get", "deployment", "web", "-n", ns, "-o",
                                   "jsonpath={.status}").stdout)["updatedReplicas"] == 3


def test_stuck_rollout_fails_rollout_status(kube: cluster_mod.Cluster, ns: str) -> None:
    kube.kubectl("create", "deployment", "web", "--image=nginx", "--replicas=2", "-n", ns)
    rollout_status(kube, ns)
    kube.kubectl("patch", "deployment/web", "-n", ns, "-p",
                 '{"spec":{"progressDeadlineSeconds":2}}')
    kube.kubectl("set", "image", "deployment/web", "nginx=nginx:broken", "-n", ns)
    res = kube.kubectl("rollout", "status", "deployment/web", "-n", ns, "--timeout=60s",
                       check=False, timeout=90)
    assert res.returncode == 1
    assert 'deployment "web" exceeded its progress deadline' in res.stderr
    d = kube.kubectl_json("get", "deployment", "web", "-n", ns)
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert d["status"]["availableReplicas"] == 2            # the old pods kept serving
    kube.kubectl("rollout", "undo", "deployment/web", "-n", ns)
    rollout_status(kube, ns)
