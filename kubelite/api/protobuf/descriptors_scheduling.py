"""Protobuf field tables, scheduling.k8s.io/v1: PriorityClass.

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "scheduling.k8s.io/v1"
KINDS: tuple[str, ...] = ("PriorityClass",)

MESSAGES: dict[str, str] = {
    "PriorityClass": (
        "1 metadata ObjectMeta; 2 value i!; 3 globalDefault b; 4 description s; 5 preemptionPolicy s?"
    ),
}
