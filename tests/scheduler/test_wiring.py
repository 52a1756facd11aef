"""The scheduler wiring over a recording fake client: informer events in, API writes out.

Informer events are fed the way a watch delivers them (the informer's upsert/remove);
every write the scheduler makes is recorded by the fake client instead of sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.client import factory, informer, rest
from kubelite.scheduler import scheduler
from tests.scheduler import sched_builders as b

Obj = dict[str, Any]
Call = tuple[str, str, Any]


class RecordingClient(rest.Client):
    """Records (method, path, body); `fail` maps a path suffix to the error to raise."""

    def __init__(self) -> None:
        super().__init__("https://127.0.0.1:1")
        self.calls: list[Call] = []
        self.fail: dict[str, errors.APIError] = {}
        self._changed = asyncio.Condition()

    async def request(self, method: str, path: str, **kw: Any) -> Obj:
        body = kw.get("body")
        self.calls.append((method, path, body))
        async with self._changed:
            self._changed.notify_all()
        for suffix, error in self.fail.items():
            if path.endswith(suffix):
                raise error
        return body if isinstance(body, dict) else {}

    async def wait_for(self, predicate: Callable[[list[Call]], bool]) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self.calls)), 5)

    def posted(self, suffix: str) -> list[Obj]:
        return [body for method, path, body in self.calls
                if method in ("POST", "PATCH") and path.endswith(suffix)]


def pod(name: str, **kw: Any) -> Obj:
    obj = b.pod(name, **kw)
    obj.update(kind="Pod", apiVersion="v1")
    obj["metadata"]["resourceVersion"] = "1"
    return obj


def node(name: str, **kw: Any) -> Obj:
    obj = b.node(name, **kw)
    obj.update(kind="Node", apiVersion="v1")
    return obj


@pytest.fixture
def fake() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def sched(fake: RecordingClient) -> scheduler.Scheduler:
    return scheduler.Scheduler(fake, factory.InformerFactory(fake))


def feed(inf: informer.Informer, *objs: Obj) -> None:
    for obj in objs:
        inf._upsert(obj)


async def cycle(sched: scheduler.Scheduler) -> None:
    """One scheduling cycle, waiting for its binding cycle to end."""
    async with asyncio.TaskGroup() as tasks:
        await sched.schedule_next(tasks)


def has_event(reason: str) -> Callable[[list[Call]], bool]:
    return lambda calls: any(method == "POST" and path.endswith("/events") and body["reason"] == reason
                             for method, path, body in calls)


async def test_pending_pod_is_bound_and_an_event_says_so(sched: scheduler.Scheduler,
                                                         fake: RecordingClient) -> None:
    feed(sched.nodes, node("n1"))
    feed(sched.pods, pod("web", cpu="100m"))
    await cycle(sched)
    [binding] = fake.posted("/namespaces/default/pods/web/binding")
    assert binding["target"] == {"apiVersion": "v1", "kind": "Node", "name": "n1"}
    assert binding["metadata"]["uid"] == "uid-default-web"
    await fake.wait_for(has_event("Scheduled"))
    [event] = fake.posted("/namespaces/default/events")
    assert event["message"] == "Successfully assigned default/web to n1"
    assert event["type"] == "Normal" and event["involvedObject"]["name"] == "web"


async def test_unschedulable_pod_gets_condition_and_event(sched: scheduler.Scheduler,
                                                          fake: RecordingClient) -> None:
    feed(sched.nodes, node("n1"), node("n2"))
    feed(sched.pods, pod("big", cpu="100"))
    await cycle(sched)
    await fake.wait_for(has_event("FailedScheduling"))
    await fake.wait_for(lambda calls: bool(fake.posted("/pods/big/status")))
    message = ("0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
               "2 No preemption victims found for incoming pod.")
    [event] = fake.posted("/events")
    assert (event["type"], event["message"]) == ("Warning", message)
    [patch] = fake.posted("/pods/big/status")
    [condition] = patch["status"]["conditions"]
    assert condition["type"] == "PodScheduled" and condition["status"] == "False"
    assert (condition["reason"], condition["message"]) == ("Unschedulable", message)
    assert sched.queue.pending()["unschedulable"] == 1
    assert not fake.posted("/binding")


async def test_unschedulable_pod_is_retried_when_a_fitting_node_appears(
        sched: scheduler.Scheduler, fake: RecordingClient) -> None:
    sched.queue.initial_backoff = 0.0
    feed(sched.nodes, node("small", cpu="1"))
    feed(sched.pods, pod("p", cpu="2"))
    await cycle(sched)
    assert sched.queue.pending()["unschedulable"] == 1
    feed(sched.nodes, node("large", cpu="8"))
    await cycle(sched)
    [binding] = fake.posted("/pods/p/binding")
    assert binding["target"]["name"] == "large"


async def test_taint_removal_makes_pod_schedulable(sched: scheduler.Scheduler,
                                                   fake: RecordingClient) -> None:
    sched.queue.initial_backoff = 0.0
    taint = {"key": "dedicated", "value": "x", "effect": "NoSchedule"}
    feed(sched.nodes, node("n1", taints=[taint]))
    feed(sched.pods, pod("p"))
    await cycle(sched)
    assert sched.queue.pending()["unschedulable"] == 1
    heartbeat = node("n1", taints=[taint])
    heartbeat["metadata"]["resourceVersion"] = "2"
    feed(sched.nodes, heartbeat)
    assert sched.queue.pending()["unschedulable"] == 1  # nothing scheduling reads changed
    feed(sched.nodes, node("n1"))
    assert sched.queue.pending()["active"] == 1
    await cycle(sched)
    assert fake.posted("/pods/p/binding")


def _other_scheduler() -> Obj:
    return pod("p", schedulerName="my-scheduler")


def _terminating() -> Obj:
    obj = pod("p")
    obj["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return obj


@pytest.mark.parametrize("make", [
    pytest.param(_other_scheduler, id="other-scheduler"),
    pytest.param(_terminating, id="terminating"),
    pytest.param(lambda: pod("p", node_name="n1"), id="already-bound"),
])
def test_pods_not_ours_to_schedule_are_not_queued(sched: scheduler.Scheduler,
                                                  make: Callable[[], Obj]) -> None:
    feed(sched.nodes, node("n1"))
    feed(sched.pods, make())
    assert sum(sched.queue.pending().values()) == 0


async def test_bound_pods_count_against_their_node(sched: scheduler.Scheduler,
                                                   fake: RecordingClient) -> None:
    feed(sched.nodes, node("full", cpu="1"), node("free", cpu="1"))
    feed(sched.pods, pod("old", cpu="900m", node_name="full"), pod("new", cpu="500m"))
    await cycle(sched)
    [binding] = fake.posted("/pods/new/binding")
    assert binding["target"]["name"] == "free"


async def test_deleted_pending_pod_is_dropped(sched: scheduler.Scheduler,
                                              fake: RecordingClient) -> None:
    feed(sched.nodes, node("n1"))
    obj = pod("p")
    feed(sched.pods, obj)
    sched.pods._remove(obj)
    assert sum(sched.queue.pending().values()) == 0


async def test_rejected_binding_backs_off_and_reports(sched: scheduler.Scheduler,
                                                      fake: RecordingClient) -> None:
    fake.fail["/pods/p/binding"] = errors.Conflict(
        "", "pods", "p", "pod p is already assigned to node \"n2\"")
    feed(sched.nodes, node("n1"))
    feed(sched.pods, pod("p"))
    await cycle(sched)
    assert sched.queue.pending()["backoff"] == 1
    assert sched.cache.node_of("uid-default-p") is None  # the assumption was undone
    await fake.wait_for(has_event("FailedScheduling"))
    [event] = fake.posted("/events")
    assert event["message"].startswith("Binding rejected: ")


def test_spread_selectors_come_from_objects_selecting_the_pod(sched: scheduler.Scheduler) -> None:
    inf = {i.rt.kind: i for i, _ in sched._selecting}
    web = {"app": "web"}
    feed(inf["Service"], {"metadata": {"name": "s", "namespace": "default"},
                          "spec": {"selector": web}},
         {"metadata": {"name": "headless", "namespace": "default"}, "spec": {}})
    feed(inf["ReplicaSet"], {"metadata": {"name": "r", "namespace": "default"},
                             "spec": {"selector": {"matchLabels": web}}},
         {"metadata": {"name": "other", "namespace": "default"},
          "spec": {"selector": {"matchLabels": {"app": "db"}}}},
         {"metadata": {"name": "elsewhere", "namespace": "prod"},
          "spec": {"selector": {"matchLabels": web}}})
    selectors = sched.handle.spread_selectors(pod("p", labels=web))
    assert [str(s) for s in selectors] == ["app=web", "app=web"]


@pytest.mark.parametrize(("conditions", "expect_write"), [
    pytest.param([], True, id="no-condition"),
    pytest.param([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "m"}], False, id="same-condition"),
    pytest.param([{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                   "message": "older"}], True, id="new-message"),
])
def test_failure_status_is_written_only_when_it_changes(conditions: list[Obj],
                                                        expect_write: bool) -> None:
    obj = pod("p")
    obj["status"]["conditions"] = conditions
    patch = scheduler._failure_status(obj, "m", None, "2025-01-01T00:00:00Z")
    assert bool(patch) is expect_write
