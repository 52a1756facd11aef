"""Printers for batch/v1: Job (with its STATUS word) and CronJob."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubelite.api import labels
from kubelite.api.printers import cells, columns, duration
from kubelite.api.printers.columns import column

Obj = dict[str, Any]


def _job_status(job: Obj) -> str:
    for kind in ("Complete", "Failed"):
        if cells.condition_true(job, kind):
            return kind
    if cells.deleting(job):
        return "Terminating"
    for kind in ("Suspended", "FailureTarget", "SuccessCriteriaMet"):
        if cells.condition_true(job, kind):
            return kind
    return "Running"


def _completions(job: Obj) -> str:
    done = cells.integer(job, "status", "succeeded")
    wanted = cells.get(job, "spec", "completions")
    if wanted is not None:
        return f"{done}/{wanted}"
    parallelism = cells.integer(job, "spec", "parallelism")
    return f"{done}/1 of {parallelism}" if parallelism > 1 else f"{done}/1"


def _job_duration(job: Obj, now: datetime) -> str:
    start = duration.parse_time(cells.get(job, "status", "startTime"))
    if start is None:
        return ""
    end = duration.parse_time(cells.get(job, "status", "completionTime"))
    return duration.human((end or now) - start)


def _job(job: Obj, now: datetime) -> list[Any]:
    names, images = cells.containers(cells.get(job, "spec", "template", "spec"))
    return [cells.name(job), _job_status(job), _completions(job), _job_duration(job, now),
            cells.age(job, now), names, images,
            labels.format_label_selector(cells.get(job, "spec", "selector"))]


def _cron_job(cj: Obj, now: datetime) -> list[Any]:
    job_spec = cells.get(cj, "spec", "jobTemplate", "spec", default={})
    names, images = cells.containers(cells.get(job_spec, "template", "spec"))
    last = cells.get(cj, "status", "lastScheduleTime")
    return [cells.name(cj), cells.get(cj, "spec", "schedule", default=""),
            cells.get(cj, "spec", "timeZone") or "<none>",
            cells.bool_ptr(cells.get(cj, "spec", "suspend")),
            len(cells.get(cj, "status", "active", default=[])),
            duration.since(last, now) if last else "<none>", cells.age(cj, now), names, images,
            labels.format_label_selector(job_spec.get("selector"))]


def printers() -> dict[tuple[str, str], columns.Printer]:
    p, name, age = columns.printer, columns.name, columns.age
    return {
        ("batch", "Job"): p([
            name(), column("Status", description="Status of the job."),
            column("Completions", description="Succeeded pods out of the completions wanted."),
            column("Duration", description="Time required to complete the job."), age(),
            *columns.template_columns()], _job),
        ("batch", "CronJob"): p([
            name(), column("Schedule", description="The schedule in Cron format."),
            column("Timezone", description="The time zone the schedule is read in."),
            column("Suspend", "boolean", "Whether later executions are suspended."),
            column("Active", "integer", "Number of currently running jobs."),
            column("Last Schedule", description="When a job was last scheduled."), age(),
            *columns.template_columns()], _cron_job),
    }
