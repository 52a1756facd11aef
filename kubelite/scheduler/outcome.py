"""What the scheduler writes back after a cycle, as plain dicts for the wiring to send,
and `run_one`, one turn of the scheduling loop over a queue and a framework.

Upstream shapes: an unschedulable pod gets condition PodScheduled=False with reason
Unschedulable and the FitError text, plus a Warning event FailedScheduling with the same
text; a bound pod gets a Normal event Scheduled "Successfully assigned ns/name to node".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from kubelite.scheduler import fiterror, framework, protocol, queue

SCHEDULER_NAME = "default-scheduler"


def unschedulable_condition(message: str, now: str) -> dict[str, Any]:
    """The PodScheduled=False condition (now: RFC 3339 time)."""
    return {
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": message,
        "lastProbeTime": None, "lastTransitionTime": now,
    }


def failed_scheduling_event(pod: dict[str, Any], message: str) -> dict[str, Any]:
    """The fields of the FailedScheduling event (the wiring adds names and times)."""
    return {"type": "Warning", "reason": "FailedScheduling", "action": "Scheduling", "note": message,
            "regarding": _ref(pod), "reportingController": SCHEDULER_NAME}


def scheduled_event(pod: dict[str, Any], node_name: str) -> dict[str, Any]:
    meta = pod.get("metadata") or {}
    note = f"Successfully assigned {meta.get('namespace')}/{meta.get('name')} to {node_name}"
    return {"type": "Normal", "reason": "Scheduled", "action": "Binding", "note": note,
            "regarding": _ref(pod), "reportingController": SCHEDULER_NAME}


def _ref(pod: dict[str, Any]) -> dict[str, Any]:
    meta = pod.get("metadata") or {}
    return {"kind": "Pod", "apiVersion": "v1", "namespace": meta.get("namespace"), "name": meta.get("name"),
            "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}


OnUnschedulable = Callable[[queue.QueuedPodInfo, fiterror.FitError], Awaitable[None]]
OnBound = Callable[[queue.QueuedPodInfo, str], Awaitable[None]]
OnBindError = Callable[[queue.QueuedPodInfo, protocol.Status], Awaitable[None]]


async def run_one(
    pods: queue.SchedulingQueue,
    fw: framework.Framework,
    *,
    on_unschedulable: OnUnschedulable,
    on_bound: OnBound,
    on_bind_error: OnBindError,
    tasks: asyncio.TaskGroup,
) -> None:
    """Pop a pod, run its scheduling cycle, and start its binding cycle in `tasks`."""
    info = await pods.pop()
    result = fw.schedule_one(info.pod)
    if isinstance(result, fiterror.FitError):
        pods.add_unschedulable(info, result.unschedulable_plugins)
        await on_unschedulable(info, result)
        return
    tasks.create_task(_bind(pods, fw, info, result, on_bound, on_bind_error))


async def _bind(
    pods: queue.SchedulingQueue, fw: framework.Framework, info: queue.QueuedPodInfo,
    result: framework.ScheduleResult, on_bound: OnBound, on_bind_error: OnBindError,
) -> None:
    status = await fw.bind(result)
    if status is None:
        pods.done(info.key)
        await on_bound(info, result.node_name)
    else:
        pods.add_backoff(info)
        await on_bind_error(info, status)
