"""The Progressing condition over time: progress, completion, and the progress deadline.

A rollout that shows no progress (no more updated, ready or available pods, no fewer old
ones) for progressDeadlineSeconds is marked Progressing=False/ProgressDeadlineExceeded;
the controller re-checks a stuck rollout just after its deadline would pass.
"""

from __future__ import annotations

import datetime
from typing import Any

from kubelite.controllers.deployment import status as st

Obj = dict[str, Any]


def _rs_name(new_rs: Obj | None) -> str | None:
    return new_rs["metadata"]["name"] if new_rs is not None else None


def _progress_condition(d: Obj, new_rs: Obj | None, new: Obj,
                        now: datetime.datetime) -> Obj | None:
    name = _rs_name(new_rs)
    if st.is_complete(d, new):
        msg = f'ReplicaSet "{name}" has successfully progressed.'
        return st.new_condition(st.PROGRESSING, "True", st.NEW_RS_AVAILABLE, msg)
    if st.is_progressing(d, new):
        msg = (f'ReplicaSet "{name}" is progressing.' if name else
               f'Deployment "{d["metadata"]["name"]}" is progressing.')
        cond = st.new_condition(st.PROGRESSING, "True", st.RS_UPDATED, msg)
        current = st.get_condition(d.get("status"), st.PROGRESSING)
        if current is not None:
            if current["status"] == "True":
                cond["lastTransitionTime"] = current.get("lastTransitionTime")
            st.remove_condition(new, st.PROGRESSING)   # so lastUpdateTime moves
        return cond
    if st.is_timed_out(d, new, now):
        msg = (f'ReplicaSet "{name}" has timed out progressing.' if name else
               f'Deployment "{d["metadata"]["name"]}" has timed out progressing.')
        return st.new_condition(st.PROGRESSING, "False", st.TIMED_OUT, msg)
    return None


def replica_failures(all_rss: list[Obj | None], new_rs: Obj | None) -> list[Obj]:
    """ReplicaFailure conditions of the sets (the new set's first) as deployment conditions."""
    ordered = [new_rs] + [rs for rs in all_rss if rs is not new_rs]
    for rs in ordered:
        for c in ((rs or {}).get("status") or {}).get("conditions") or []:
            if c.get("type") == st.REPLICA_FAILURE:
                return [{"type": st.REPLICA_FAILURE, "status": c.get("status"),
                         "lastUpdateTime": c.get("lastTransitionTime"),
                         "lastTransitionTime": c.get("lastTransitionTime"),
                         "reason": c.get("reason"), "message": c.get("message")}]
    return []


def rollout_status(all_rss: list[Obj | None], new_rs: Obj | None, d: Obj,
                   now: datetime.datetime) -> Obj:
    """The status after a rollout step: counts, Available, Progressing, ReplicaFailure."""
    new = st.calculate(all_rss, new_rs, d)
    if not st.has_deadline(d):
        st.remove_condition(new, st.PROGRESSING)
    current = st.get_condition(d.get("status"), st.PROGRESSING)
    complete = (new.get("replicas") == new.get("updatedReplicas") and current is not None
                and current.get("reason") == st.NEW_RS_AVAILABLE)
    if st.has_deadline(d) and not complete:
        cond = _progress_condition(d, new_rs, new, now)
        if cond is not None:
            st.set_condition(new, cond)
    failures = replica_failures(all_rss, new_rs)
    if failures:
        st.set_condition(new, failures[0])
    else:
        st.remove_condition(new, st.REPLICA_FAILURE)
    return new


def recheck_after(d: Obj, new: Obj, now: datetime.datetime) -> float | None:
    """Seconds until a rollout without progress should be checked for its deadline."""
    current = st.get_condition(d.get("status"), st.PROGRESSING)
    if not st.has_deadline(d) or current is None:
        return None
    if st.is_complete(d, new) or current.get("reason") == st.TIMED_OUT:
        return None
    after = st.seconds_to_deadline(d, current, now)
    return max(after, 0.0) + 1.0
