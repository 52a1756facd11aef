"""The scheduling queue on a virtual clock: ordering, backoff, requeue on cluster events."""

from __future__ import annotations

import asyncio

import pytest
from tests.scheduler import sched_builders as b

from kubelite.scheduler import protocol, queue


class VirtualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def new_queue(clock: VirtualClock) -> queue.SchedulingQueue:
    return queue.SchedulingQueue(
        clock=clock,
        plugins_for_events={protocol.NODE_ADD: {"NodeResourcesFit", "TaintToleration"},
                            protocol.ASSIGNED_POD_DELETE: {"NodeResourcesFit"}},
    )


def names(q: queue.SchedulingQueue) -> list[str]:
    out = []
    while (info := q.pop_nowait()) is not None:
        out.append(info.pod["metadata"]["name"])
    return out


def test_active_queue_orders_by_priority_then_arrival() -> None:
    clock = VirtualClock()
    q = new_queue(clock)
    for name, priority in (("low-1", 0), ("high", 1000), ("low-2", 0), ("mid", 10)):
        q.add(b.pod(name, priority=priority))
        clock.advance(0.001)
    assert names(q) == ["high", "mid", "low-1", "low-2"]


@pytest.mark.parametrize(("attempts", "seconds"), [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)])
def test_backoff_doubles_per_attempt_up_to_ten_seconds(attempts: int, seconds: float) -> None:
    q = new_queue(VirtualClock())
    info = queue.QueuedPodInfo(b.pod("p"), "k", 0.0, attempts=attempts)
    assert q.backoff_duration(info) == seconds


def test_failed_pod_waits_out_its_backoff() -> None:
    clock = VirtualClock()
    q = new_queue(clock)
    q.add(b.pod("p"))
    info = q.pop_nowait()
    assert info is not None and info.attempts == 1
    q.add_backoff(info)
    clock.advance(0.9)
    assert q.pop_nowait() is None and q.pending()["backoff"] == 1
    clock.advance(0.2)
    again = q.pop_nowait()
    assert again is not None and again.attempts == 2
    q.add_backoff(again)
    clock.advance(1.5)
    assert q.pop_nowait() is None
    clock.advance(0.6)
    assert q.pop_nowait() is not None


def test_unschedulable_pod_moves_only_on_an_event_its_plugins_care_about() -> None:
    clock = VirtualClock()
    q = new_queue(clock)
    q.add(b.pod("p"))
    info = q.pop_nowait()
    assert info is not None
    q.add_unschedulable(info, {"TaintToleration"})
    clock.advance(30)
    assert q.pop_nowait() is None and q.pending()["unschedulable"] == 1
    assert q.on_event(protocol.ASSIGNED_POD_DELETE) == 0
    assert q.on_event(protocol.NODE_ADD) == 1
    assert names(q) == ["p"]


def test_moved_pod_still_backing_off_goes_to_backoff_queue() -> None:
    clock = VirtualClock()
    q = new_queue(clock)
    q.add(b.pod("p"))
    info = q.pop_nowait()
    assert info is not None
    q.add_unschedulable(info, {"NodeResourcesFit"})
    q.on_event(protocol.NODE_ADD)
    assert q.pending() == {"active": 0, "backoff": 1, "unschedulable": 0, "gated": 0}
    clock.advance(1.0)
    assert names(q) == ["p"]


def test_event_during_the_cycle_sends_the_pod_to_backoff_not_unschedulable() -> None:
    clock = VirtualClock()
    q = new_queue(clock)
    q.add(b.pod("p"))
    info = q.pop_nowait()
    assert info is not None
    q.on_event(protocol.NODE_ADD)  # a node arrived while the cycle ran
    q.add_unschedulable(info, {"NodeResourcesFit"})
    assert q.pending()["backoff"] == 1 and q.pending()["unschedulable"] == 0


def test_unschedulable_pods_are_retried_after_five_minutes() -> None:
    clock = VirtualClock()
    q = new_queue(clock)
    q.add(b.pod("p"))
    info = q.pop_nowait()
    assert info is not None
    q.add_unschedulable(info, {"NodeAffinity"})
    clock.advance(299)
    assert q.pop_nowait() is None
    clock.advance(2)
    assert names(q) == ["p"]


def test_gated_pod_waits_until_its_gates_are_removed() -> None:
    q = new_queue(VirtualClock())
    gated = b.pod("p", schedulingGates=[{"name": "example.com/quota"}])
    q.add(gated)
    assert q.pop_nowait() is None and q.pending()["gated"] == 1
    q.update(b.pod("p"))
    assert names(q) == ["p"]


def test_update_of_unschedulable_pod_retries_it_and_binding_or_delete_drops_it() -> None:
    clock = VirtualClock()
    q = new_queue(clock)
    q.add(b.pod("p"))
    info = q.pop_nowait()
    assert info is not None
    q.add_unschedulable(info, {"TaintToleration"})
    clock.advance(5)
    q.update(b.pod("p", tolerations=[{"operator": "Exists"}]))
    assert names(q) == ["p"]
    q.add(b.pod("gone"))
    q.delete(b.pod("gone"))
    q.add(b.pod("bound"))
    q.update(b.pod("bound", node_name="n"))
    assert names(q) == []


async def test_pop_waits_for_a_pod_to_be_added() -> None:
    q = queue.SchedulingQueue()
    waiter = asyncio.create_task(q.pop())
    await asyncio.sleep(0)  # one loop turn (not a timed wait): pop() is now parked on an empty queue
    assert not waiter.done()
    q.add(b.pod("p"))
    info = await asyncio.wait_for(waiter, timeout=5)
    assert info.pod["metadata"]["name"] == "p"
