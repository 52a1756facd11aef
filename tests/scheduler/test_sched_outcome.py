"""One turn of the scheduling loop: bound pods are reported, unschedulable ones parked."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.scheduler import sched_builders as b

from kubelite.scheduler import fiterror, outcome, protocol, queue


async def test_run_one_binds_or_parks_the_pod() -> None:
    bound: list[tuple[str, str]] = []
    reported: list[str] = []

    async def bind(pod: dict[str, Any], node: str) -> None:
        bound.append((pod["metadata"]["name"], node))

    async def on_unschedulable(info: queue.QueuedPodInfo, err: fiterror.FitError) -> None:
        reported.append(err.message())

    async def on_bound(info: queue.QueuedPodInfo, node: str) -> None:
        reported.append(outcome.scheduled_event(info.pod, node)["note"])

    async def on_bind_error(info: queue.QueuedPodInfo, status: protocol.Status) -> None:
        raise AssertionError(status)

    fw = b.new_framework(b.cluster(b.node("a", cpu="1")), bind=bind)
    pods = queue.SchedulingQueue(plugins_for_events=fw.plugins_for_events())
    pods.add(b.pod("small", cpu="500m"))
    pods.add(b.pod("big", cpu="2"))
    async with asyncio.TaskGroup() as tasks:
        for _ in range(2):
            await outcome.run_one(pods, fw, on_unschedulable=on_unschedulable, on_bound=on_bound,
                                  on_bind_error=on_bind_error, tasks=tasks)
    assert bound == [("small", "a")]
    assert sorted(reported) == [
        ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod."),
        "Successfully assigned default/small to a",
    ]
    assert pods.pending()["unschedulable"] == 1
    condition = outcome.unschedulable_condition(reported[0], "2024-01-01T00:00:00Z")
    assert (condition["type"], condition["status"], condition["reason"]) == ("PodScheduled", "False", "Unschedulable")
