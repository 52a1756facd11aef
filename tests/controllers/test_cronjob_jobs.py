"""Which finished Jobs the history limits remove, and the Job a CronJob makes."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from kubelite.controllers.cronjob import jobs

Obj = dict[str, Any]


def job(name: str, cond: str | None = None, start: str | None = None) -> Obj:
    status: Obj = {"conditions": [{"type": cond, "status": "True"}]} if cond else {}
    if start:
        status["startTime"] = start
    return {"metadata": {"name": name}, "status": status}


def cronjob(**spec: Any) -> Obj:
    return {"metadata": {"name": "tick", "namespace": "default", "uid": "u"}, "spec": spec}


@pytest.mark.parametrize(("limits", "js", "victims"), [
    ({"successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1},
     [job("a", "Complete", "2024-01-01T00:01:00Z"), job("b", "Complete", "2024-01-01T00:02:00Z")],
     []),
    ({"successfulJobsHistoryLimit": 1},
     [job("c", "Complete", "2024-01-01T00:03:00Z"), job("a", "Complete", "2024-01-01T00:01:00Z"),
      job("b", "Complete", "2024-01-01T00:02:00Z")], ["a", "b"]),
    ({"failedJobsHistoryLimit": 1},
     [job("x", "Failed"), job("a", "Failed", "2024-01-01T00:05:00Z"), job("run")],
     ["a"]),                                   # a Job never started counts as newest
    ({"successfulJobsHistoryLimit": 0, "failedJobsHistoryLimit": 0},
     [job("ok", "Complete"), job("bad", "Failed"), job("run")], ["ok", "bad"]),
    ({}, [job("ok", "Complete"), job("bad", "Failed")], []),
], ids=["under-limits", "oldest-successes", "unstarted-last", "zero", "no-limits"])
def test_history_victims(limits: Obj, js: list[Obj], victims: list[str]) -> None:
    got = jobs.history_victims(cronjob(**limits), js)
    assert [j["metadata"]["name"] for j in got] == victims


@pytest.mark.parametrize(("conditions", "want"), [
    ([{"type": "Complete", "status": "True"}], "Complete"),
    ([{"type": "Failed", "status": "True"}], "Failed"),
    ([{"type": "Complete", "status": "False"}], None),
    ([{"type": "Suspended", "status": "True"}], None),
    ([], None),
])
def test_finished_condition(conditions: list[Obj], want: str | None) -> None:
    assert jobs.finished_condition({"status": {"conditions": conditions}}) == want


def test_job_from_template_keeps_template_metadata() -> None:
    cj = cronjob(jobTemplate={"metadata": {"labels": {"a": "1"}, "annotations": {"n": "x"}},
                              "spec": {"backoffLimit": 2}})
    cj.update(apiVersion="batch/v1", kind="CronJob")
    t = datetime.datetime(2024, 1, 1, 0, 5, tzinfo=datetime.UTC)
    got = jobs.job_from_template(cj, t, datetime.UTC)
    assert got["metadata"]["name"] == f"tick-{int(t.timestamp()) // 60}"
    assert got["metadata"]["labels"] == {"a": "1"}
    assert got["metadata"]["annotations"] == {"n": "x", jobs.SCHEDULED_ANNOTATION:
                                              "2024-01-01T00:05:00Z"}
    assert got["spec"] == {"backoffLimit": 2}
