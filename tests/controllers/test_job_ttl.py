"""When the TTL-after-finished controller deletes a job."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubelite.controllers import ttlafterfinished

NOW = datetime.datetime(2024, 1, 1, 0, 1, 0, tzinfo=datetime.UTC)


def job(ttl: int | None, cond: str | None, deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "j", "namespace": "ns", "uid": "u"}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:59Z"
    conds = [{"type": cond, "status": "True", "lastTransitionTime": "2024-01-01T00:00:30Z"}] \
        if cond else []
    spec = {} if ttl is None else {"ttlSecondsAfterFinished": ttl}
    return {"metadata": meta, "spec": spec, "status": {"conditions": conds}}


@pytest.mark.parametrize(("obj", "want"), [
    (job(None, "Complete"), None),
    (job(100, None), None),
    (job(100, "Complete"), 70.0),
    (job(0, "Failed"), -30.0),
    (job(0, "Complete", deleting=True), None),
], ids=["no-ttl", "running", "complete-waits", "failed-expired", "already-deleting"])
def test_expires_in(obj: dict[str, Any], want: float | None) -> None:
    assert ttlafterfinished.expires_in(obj, NOW) == want
