"""CronJobs through the real kubectl: what `get cronjobs` prints, Jobs made when a time is
due, `create job --from=cronjob/...`, and suspend.

No test waits for a minute boundary: a test makes a run due at once by writing an old
status.lastScheduleTime (what a controller restarted after a pause would find), so the
controller starts the latest missed time immediately; the controller's own timer is seen
with a two-second `@every` schedule.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest

from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e

Obj = dict[str, Any]
HOURLY = "0 * * * *"
SCHEDULED = "batch.kubernetes.io/cronjob-scheduled-timestamp"


def create(cluster: cluster_mod.Cluster, ns: str, name: str, schedule: str) -> None:
    cluster.kubectl("-n", ns, "create", "cronjob", name, "--image=busybox",
                    f"--schedule={schedule}", "--", "echo", "hi")


def make_due(cluster: cluster_mod.Cluster, ns: str, name: str) -> None:
    """Pretend the last run was hours ago: the latest hour boundary is then due (an hourly
    schedule, so no further run comes while the test looks)."""
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=3)
    cluster.kubectl("-n", ns, "patch", "cronjob", name, "--subresource=status", "--type=merge",
                    "-p", f'{{"status":{{"lastScheduleTime":"{past:%Y-%m-%dT%H:%M:00Z}"}}}}')


def owned_jobs(cluster: cluster_mod.Cluster, ns: str, name: str) -> list[Obj]:
    items = cluster.kubectl_json("-n", ns, "get", "jobs")["items"]
    return [j for j in items
            if any(r.get("name") == name and r.get("kind") == "CronJob"
                   for r in j["metadata"].get("ownerReferences") or [])]


def event_reasons(cluster: cluster_mod.Cluster, ns: str, name: str) -> list[str]:
    items = cluster.kubectl_json("-n", ns, "get", "events",
                                 f"--field-selector=involvedObject.name={name}")["items"]
    return [e["reason"] for e in items]


def test_get_cronjobs_columns(cluster: cluster_mod.Cluster, ns: str) -> None:
    create(cluster, ns, "tick", "0 0 29 2 *")        # leap days only: nothing runs meanwhile
    out = cluster.kubectl("-n", ns, "get", "cronjobs").stdout.splitlines()
    assert out[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST",
                              "SCHEDULE", "AGE"]
    assert out[1].split()[:10] == ["tick", "0", "0", "29", "2", "*", "<none>", "False", "0",
                                   "<none>"]


def test_due_time_makes_a_job(cluster: cluster_mod.Cluster, ns: str) -> None:
    create(cluster, ns, "tick", HOURLY)
    make_due(cluster, ns, "tick")
    (job,) = cluster_mod.wait_for("the cronjob's job", lambda: owned_jobs(cluster, ns, "tick"),
                                  lambda js: len(js) == 1)
    scheduled = job["metadata"]["annotations"][SCHEDULED]
    minutes = int(datetime.datetime.fromisoformat(scheduled).timestamp()) // 60
    assert job["metadata"]["name"] == f"tick-{minutes}"
    assert job["metadata"]["ownerReferences"][0]["controller"] is True
    cj = cluster_mod.wait_for(
        "status.active", lambda: cluster.kubectl_json("-n", ns, "get", "cronjob", "tick"),
        lambda c: bool((c.get("status") or {}).get("active")))
    assert [a["name"] for a in cj["status"]["active"]] == [job["metadata"]["name"]]
    assert cj["status"]["lastScheduleTime"] == scheduled
    row = cluster.kubectl("-n", ns, "get", "cronjobs", "--no-headers").stdout.split()
    assert row[8] == "1" and row[9] != "<none>"       # ACTIVE, LAST SCHEDULE
    cluster_mod.wait_for("the creation event", lambda: event_reasons(cluster, ns, "tick"),
                         lambda r: "SuccessfulCreate" in r)
    described = cluster.kubectl("-n", ns, "describe", "cronjob", "tick").stdout
    assert f"Created job {job['metadata']['name']}" in described
    assert re.search(rf"Active Jobs:\s+{job['metadata']['name']}\n", described)


def test_controller_wakes_at_the_next_time(cluster: cluster_mod.Cluster, ns: str) -> None:
    """Nothing changes after creation, when no run is due yet: only the controller's own
    timer can start the first run, two seconds later."""
    create(cluster, ns, "often", "@every 2s")
    created = cluster.kubectl_json("-n", ns, "get", "cronjob", "often")["metadata"][
        "creationTimestamp"]
    job = cluster_mod.wait_for("the timed run", lambda: owned_jobs(cluster, ns, "often"),
                               lambda got: len(got) >= 1, timeout=20)[0]
    scheduled = datetime.datetime.fromisoformat(job["metadata"]["annotations"][SCHEDULED])
    assert scheduled - datetime.datetime.fromisoformat(created) == datetime.timedelta(seconds=2)


def test_job_from_cronjob_is_not_counted_active(cluster: cluster_mod.Cluster, ns: str) -> None:
    create(cluster, ns, "tick", "0 0 29 2 *")
    cluster.kubectl("-n", ns, "create", "job", "--from=cronjob/tick", "manual")
    job = cluster.kubectl_json("-n", ns, "get", "job", "manual")
    assert job["metadata"]["ownerReferences"][0]["name"] == "tick"
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    cluster_mod.wait_for("the controller to see the manual job",
                         lambda: event_reasons(cluster, ns, "tick"),
                         lambda r: "UnexpectedJob" in r)
    cj = cluster.kubectl_json("-n", ns, "get", "cronjob", "tick")
    assert not (cj.get("status") or {}).get("active")


def test_suspended_cronjob_makes_nothing(cluster: cluster_mod.Cluster, ns: str) -> None:
    create(cluster, ns, "paused", HOURLY)
    cluster.kubectl("-n", ns, "patch", "cronjob", "paused", "--type=merge",
                    "-p", '{"spec":{"suspend":true}}')
    create(cluster, ns, "running", HOURLY)
    make_due(cluster, ns, "paused")
    make_due(cluster, ns, "running")
    # Both are due at once; by the time the running one's Job exists, the suspended
    # one has been looked at too (it was queued first).
    cluster_mod.wait_for("the running cronjob's job", lambda: owned_jobs(cluster, ns, "running"),
                         lambda js: len(js) == 1)
    assert owned_jobs(cluster, ns, "paused") == []
    row = cluster.kubectl("-n", ns, "get", "cronjob", "paused", "--no-headers").stdout.split()
    assert row[7] == "True"
    cluster.kubectl("-n", ns, "patch", "cronjob", "paused", "--type=merge",
                    "-p", '{"spec":{"suspend":false}}')
    cluster_mod.wait_for("the resumed cronjob's job", lambda: owned_jobs(cluster, ns, "paused"),
                         lambda js: len(js) == 1)


@pytest.mark.parametrize(("schedule", "tz", "message"), [
    ("61 * * * *", None,
     'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'),
    ("0 0 * 13 *", None,
     'spec.schedule: Invalid value: "0 0 * 13 *": end of range (13) above maximum (12): 13'),
    ("*/5 * * * *", "Mars/Olympus",
     'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'),
    ("CRON_TZ=UTC 0 * * * *", None,
     ('spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in '
     "schedule, use timeZone field instead")),
], ids=["minute", "month", "zone", "tz-prefix"])
def test_bad_schedule_rejected(cluster: cluster_mod.Cluster, ns: str, schedule: str,
                               tz: str | None, message: str) -> None:
    zone = f"\n  timeZone: {tz}" if tz else ""
    res = cluster.kubectl("-n", ns, "apply", "-f", "-", check=False, input=f"""
apiVersion: batch/v1
kind: CronJob
metadata: {{name: bad}}
spec:
  schedule: "{schedule}"{zone}
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{{name: c, image: busybox}}]
""")
    assert res.returncode != 0
    assert 'The CronJob "bad" is invalid: ' + message in res.stderr
