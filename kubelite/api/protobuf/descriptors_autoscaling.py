"""Protobuf field tables, autoscaling/v1: Scale (the /scale subresource body) and
HorizontalPodAutoscaler (what `kubectl autoscale` sends).

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "autoscaling/v1"
KINDS: tuple[str, ...] = ("Scale", "HorizontalPodAutoscaler")

MESSAGES: dict[str, str] = {
    "Scale": "1 metadata ObjectMeta; 2 spec ScaleSpec; 3 status ScaleStatus",
    "ScaleSpec": "1 replicas i",
    "ScaleStatus": "1 replicas i!; 2 selector s",
    "HorizontalPodAutoscaler": (
        "1 metadata ObjectMeta; 2 spec HorizontalPodAutoscalerSpec; "
        "3 status HorizontalPodAutoscalerStatus"
    ),
    "HorizontalPodAutoscalerSpec": (
        "1 scaleTargetRef CrossVersionObjectReference; 2 minReplicas i?; 3 maxReplicas i!; "
        "4 targetCPUUtilizationPercentage i?"
    ),
    "CrossVersionObjectReference": "1 kind s!; 2 name s!; 3 apiVersion s",
    "HorizontalPodAutoscalerStatus": (
        "1 observedGeneration i?; 2 lastScaleTime Time; 3 currentReplicas i!; "
        "4 desiredReplicas i!; 5 currentCPUUtilizationPercentage i?"
    ),
}
