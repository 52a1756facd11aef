"""What a StatefulSet should do next, as a pure function of its pods.

One pass mirrors upstream's: first make every ordinal in range exist (recreating failed
pods), then delete pods beyond the range from the highest ordinal down, then roll pods
that run an old revision, from the highest ordinal down to the partition. Under
OrderedReady each step waits for the pods before it to be Running and Ready (available
for minReadySeconds) and acts on one pod at a time; Parallel does not wait while scaling.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from kubelite.controllers import pods
from kubelite.controllers.statefulset import identity

Obj = dict[str, Any]


@dataclass
class Plan:
    """Ordinals to create (with the revision each gets) and pods to delete, in order."""
    create: list[tuple[int, str]] = field(default_factory=list)
    delete: list[Obj] = field(default_factory=list)
    relabel: list[Obj] = field(default_factory=list)


@dataclass(frozen=True)
class Revisions:
    current: str
    update: str


def _spec(sts: Obj) -> Obj:
    return identity.spec(sts)


def monotonic(sts: Obj) -> bool:
    return _spec(sts).get("podManagementPolicy", "OrderedReady") != "Parallel"


def _rolling(sts: Obj) -> Obj | None:
    strategy = _spec(sts).get("updateStrategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {}


def partition(sts: Obj) -> int:
    return int((_rolling(sts) or {}).get("partition") or 0)


def revision_for(sts: Obj, ordinal: int, revs: Revisions) -> str:
    """Which revision a (re)created pod gets: below the partition it keeps the current one."""
    rolling = _rolling(sts)
    if rolling is not None and ordinal < identity.start_ordinal(sts) + partition(sts):
        return revs.current
    return revs.update


def healthy(pod: Obj, min_ready: int, now: datetime.datetime) -> bool:
    """Running, ready (for minReadySeconds) and not terminating."""
    return ((pod.get("status") or {}).get("phase") == "Running"
            and pods.is_available(pod, min_ready, now)
            and not pod["metadata"].get("deletionTimestamp"))


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Failed", "Succeeded")


def _fill(sts: Obj, by_ord: dict[int, Obj], revs: Revisions, plan: Plan,
          ok: Any) -> bool:
    """Create missing ordinals and replace finished pods; False when the pass must stop."""
    strict = monotonic(sts)
    for ordinal in identity.ordinals(sts):
        pod = by_ord.get(ordinal)
        if pod is None:
            plan.create.append((ordinal, revision_for(sts, ordinal, revs)))
            if strict:
                return False
        elif _finished(pod) and not pod["metadata"].get("deletionTimestamp"):
            plan.delete.append(pod)
            if strict:
                return False
        elif not ok(pod):
            if strict:
                return False
        elif not identity.identity_matches(sts, pod):
            plan.relabel.append(pod)
    return True


def _condemn(sts: Obj, condemned: list[Obj], in_range: list[Obj], plan: Plan, ok: Any) -> bool:
    """Delete pods beyond the range, highest ordinal first; False when the pass must stop."""
    strict = monotonic(sts)
    for pod in sorted(condemned, key=identity.ordinal_of, reverse=True):
        if pod["metadata"].get("deletionTimestamp"):
            if strict:
                return False
            continue
        if strict and any(not ok(p) for p in in_range + condemned if p is not pod):
            return False
        plan.delete.append(pod)
        if strict:
            return False
    return True


def _roll(sts: Obj, by_ord: dict[int, Obj], revs: Revisions, plan: Plan, ok: Any) -> None:
    """Delete one old-revision pod at a time, highest ordinal first, down to the partition."""
    if _rolling(sts) is None:
        return
    floor = identity.start_ordinal(sts) + partition(sts)
    for ordinal in reversed(identity.ordinals(sts)):
        if ordinal < floor:
            return
        pod = by_ord.get(ordinal)
        if pod is None:
            return
        if identity.revision_of(pod) != revs.update and \
                not pod["metadata"].get("deletionTimestamp"):
            plan.delete.append(pod)
            return
        if not ok(pod):
            return


def next_steps(sts: Obj, owned: list[Obj], revs: Revisions, now: datetime.datetime) -> Plan:
    """The next creations and deletions for a set whose pods are `owned`."""
    min_ready = int(_spec(sts).get("minReadySeconds") or 0)

    def ok(p: Obj) -> bool:
        return healthy(p, min_ready, now)
    wanted = set(identity.ordinals(sts))
    by_ord = {identity.ordinal_of(p): p for p in owned if identity.ordinal_of(p) in wanted}
    condemned = [p for p in owned if identity.ordinal_of(p) not in wanted]
    plan = Plan()
    if not _fill(sts, by_ord, revs, plan, ok):
        return plan
    if not _condemn(sts, condemned, list(by_ord.values()), plan, ok) or plan.delete:
        return plan
    _roll(sts, by_ord, revs, plan, ok)
    return plan
