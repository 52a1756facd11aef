"""Protobuf field tables, batch/v1: Job, CronJob and their parts.

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "batch/v1"
KINDS: tuple[str, ...] = ("Job", "CronJob")

MESSAGES: dict[str, str] = {
    "CronJob": "1 metadata ObjectMeta; 2 spec CronJobSpec; 3 status CronJobStatus",
    "CronJobSpec": (
        "1 schedule s!; 2 startingDeadlineSeconds i?; 3 concurrencyPolicy s; 4 suspend b?; "
        "5 jobTemplate JobTemplateSpec; 6 successfulJobsHistoryLimit i?; 7 failedJobsHistoryLimit i?; "
        "8 timeZone s?"
    ),
    "CronJobStatus": "1 active [ObjectReference]; 4 lastScheduleTime Time; 5 lastSuccessfulTime Time",
    "Job": "1 metadata ObjectMeta; 2 spec JobSpec; 3 status JobStatus",
    "JobCondition": (
        "1 type s!; 2 status s!; 3 lastProbeTime Time; 4 lastTransitionTime Time; 5 reason s; 6 message s"
    ),
    "JobSpec": (
        "1 parallelism i?; 2 completions i?; 3 activeDeadlineSeconds i?; 4 selector LabelSelector; "
        "5 manualSelector b?; 6 template PodTemplateSpec; 7 backoffLimit i?; 8 ttlSecondsAfterFinished i?; "
        "9 completionMode s?; 10 suspend b?; 11 podFailurePolicy PodFailurePolicy; "
        "12 backoffLimitPerIndex i?; 13 maxFailedIndexes i?; 14 podReplacementPolicy s?; 15 managedBy s?; "
        "16 successPolicy SuccessPolicy"
    ),
    "JobStatus": (
        "1 conditions [JobCondition]; 2 startTime Time; 3 completionTime Time; 4 active i; 5 succeeded i; "
        "6 failed i; 7 completedIndexes s; 8 uncountedTerminatedPods UncountedTerminatedPods; 9 ready i?; "
        "10 failedIndexes s?; 11 terminating i?"
    ),
    "JobTemplateSpec": "1 metadata ObjectMeta; 2 spec JobSpec",
    "PodFailurePolicy": "1 rules [PodFailurePolicyRule]",
    "PodFailurePolicyOnExitCodesRequirement": "1 containerName s?; 2 operator s!; 3 values [i]",
    "PodFailurePolicyOnPodConditionsPattern": "1 type s!; 2 status s!",
    "PodFailurePolicyRule": (
        "1 action s!; 2 onExitCodes PodFailurePolicyOnExitCodesRequirement; "
        "3 onPodConditions [PodFailurePolicyOnPodConditionsPattern]"
    ),
    "SuccessPolicy": "1 rules [SuccessPolicyRule]",
    "SuccessPolicyRule": "1 succeededIndexes s?; 2 succeededCount i?",
    "UncountedTerminatedPods": "1 succeeded [s]; 2 failed [s]",
}
