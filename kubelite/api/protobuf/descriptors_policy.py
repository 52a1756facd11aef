"""Protobuf field tables, policy/v1: PodDisruptionBudget and Eviction.

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "policy/v1"
KINDS: tuple[str, ...] = ("PodDisruptionBudget", "Eviction")

MESSAGES: dict[str, str] = {
    "Eviction": "1 metadata ObjectMeta; 2 deleteOptions DeleteOptions",
    "PodDisruptionBudget": (
        "1 metadata ObjectMeta; 2 spec PodDisruptionBudgetSpec; 3 status PodDisruptionBudgetStatus"
    ),
    "PodDisruptionBudgetSpec": (
        "1 minAvailable IntOrString; 2 selector LabelSelector; 3 maxUnavailable IntOrString; "
        "4 unhealthyPodEvictionPolicy s?"
    ),
    "PodDisruptionBudgetStatus": (
        "1 observedGeneration i; 2 disruptedPods {Time}; 3 disruptionsAllowed i!; 4 currentHealthy i!; "
        "5 desiredHealthy i!; 6 expectedPods i!; 7 conditions [Condition]"
    ),
}
