"""Rules for Job, CronJob and HorizontalPodAutoscaler."""

from __future__ import annotations

import re
from typing import Any

from kubelite.api import cron, errors
from kubelite.api.validation import field, names, pods, selectors

Obj = dict[str, Any]
JOB_RESTART_POLICIES = ("OnFailure", "Never")
_CRON_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_CRON_FIELD_RE = re.compile(r"[0-9A-Za-z*?/,\-LW#]+")


def job_spec(spec: Any, path: str) -> list[errors.Cause]:
    """A JobSpec at `path` (`spec` for Jobs, `spec.jobTemplate.spec` for CronJobs)."""
    if not isinstance(spec, dict):
        return []
    causes: list[errors.Cause] = []
    for attr in ("parallelism", "completions", "backoffLimit"):
        causes += field.non_negative(field.join(path, attr), spec.get(attr))
    deadline = spec.get("activeDeadlineSeconds")
    if isinstance(deadline, int) and deadline <= 0:
        causes.append(field.invalid(field.join(path, "activeDeadlineSeconds"), deadline,
                                    "must be greater than or equal to 1"))
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        causes.append(field.not_supported(field.join(path, "completionMode"), mode,
                                          ("NonIndexed", "Indexed")))
    if mode == "Indexed" and spec.get("completions") is None:
        causes.append(field.required(field.join(path, "completions"),
                                     "when completion mode is Indexed"))
    template = spec.get("template")
    if isinstance(template, dict):
        tpath = field.join(path, "template.spec")
        tspec = template.get("spec") or {}
        causes += [c for c in pods.validate_spec(tspec, tpath)
                   if c.field != field.join(tpath, "restartPolicy")]
        policy = tspec.get("restartPolicy")
        if policy not in JOB_RESTART_POLICIES:
            causes.append(field.required(field.join(tpath, "restartPolicy"),
                                         'valid values: "OnFailure", "Never"') if not policy else
                          field.not_supported(field.join(tpath, "restartPolicy"), policy,
                                              JOB_RESTART_POLICIES))
    if spec.get("selector") is not None:
        causes += selectors.validate(spec["selector"], field.join(path, "selector"))
    return causes


def job(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = obj.get("spec") or {}
    causes = job_spec(spec, "spec")
    if old is not None:
        old_spec = old.get("spec") or {}
        for attr in ("selector", "template", "completionMode"):
            causes += field.immutable_if_changed(f"spec.{attr}", spec.get(attr), old_spec.get(attr))
        if spec.get("completionMode") != "Indexed":
            causes += field.immutable_if_changed("spec.completions", spec.get("completions"),
                                                 old_spec.get("completions"))
    return causes


def cron_job(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = obj.get("spec") or {}
    causes: list[errors.Cause] = []
    name = (obj.get("metadata") or {}).get("name") or ""
    if len(name) > 52:
        causes.append(field.invalid("metadata.name", name, names.max_len_error(52)))
    schedule = spec.get("schedule")
    if not schedule:
        causes.append(field.required("spec.schedule"))
    else:
        problem = schedule_problem(schedule)
        if problem:
            causes.append(field.invalid("spec.schedule", schedule, problem))
    causes += time_zone(spec.get("timeZone"))
    policy = spec.get("concurrencyPolicy")
    if policy is not None and policy not in ("Allow", "Forbid", "Replace"):
        causes.append(field.not_supported("spec.concurrencyPolicy", policy,
                                          ("Allow", "Forbid", "Replace")))
    for attr in ("startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"):
        causes += field.non_negative(f"spec.{attr}", spec.get(attr))
    template = spec.get("jobTemplate") or {}
    return causes + job_spec(template.get("spec"), "spec.jobTemplate.spec")


def schedule_problem(schedule: str) -> str:
    """Why a cron schedule would not parse ("" when it does), in robfig/cron's words."""
    body = schedule
    if "TZ" in body:
        return "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
    if body.startswith("@"):
        if body in _CRON_MACROS or body.startswith("@every "):
            return ""
        return f"unrecognized descriptor: {body}"
    fields = body.split()
    if len(fields) != 5:
        return f"expected exactly 5 fields, found {len(fields)}: [{' '.join(fields)}]"
    bad = next((f for f in fields if not _CRON_FIELD_RE.fullmatch(f)), None)
    if bad:
        return f"failed to parse int from {bad}"
    try:
        cron.parse(body)          # ranges, steps and names, in the parser's own words
    except cron.ParseError as e:
        return str(e)
    return ""


def time_zone(tz: Any) -> list[errors.Cause]:
    """spec.timeZone: unset, or a zone the zone database knows (upstream's validateTimeZone)."""
    if tz is None or not isinstance(tz, str):
        return []
    if not tz:
        return [field.invalid("spec.timeZone", tz, "timeZone must be nil or non-empty string")]
    if tz.lower() == "local":
        return [field.invalid("spec.timeZone", tz, "timeZone must be an explicit time zone as "
                              "defined in https://www.iana.org/time-zones")]
    try:
        cron.zone(tz)
    except cron.ParseError as e:
        return [field.invalid("spec.timeZone", tz, str(e))]
    return []


def hpa(obj: Obj, old: Obj | None) -> list[errors.Cause]:
    spec = obj.get("spec") or {}
    causes: list[errors.Cause] = []
    ref = spec.get("scaleTargetRef") or {}
    for attr in ("kind", "name"):
        if not ref.get(attr):
            causes.append(field.required(f"spec.scaleTargetRef.{attr}"))
    low, high = spec.get("minReplicas"), spec.get("maxReplicas")
    if isinstance(low, int) and low < 1:
        causes.append(field.invalid("spec.minReplicas", low, "must be greater than or equal to 1"))
    if isinstance(high, int):
        if high < 1:
            causes.append(field.invalid("spec.maxReplicas", high,
                                        "must be greater than or equal to 1"))
        elif isinstance(low, int) and high < low:
            causes.append(field.invalid("spec.maxReplicas", high,
                                        "must be greater than or equal to `minReplicas`"))
    return causes
