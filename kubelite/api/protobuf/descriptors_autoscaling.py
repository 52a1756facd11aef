"""Protobuf field tables, autoscaling/v1: Scale, the /scale subresource body.

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "autoscaling/v1"
KINDS: tuple[str, ...] = ("Scale",)

MESSAGES: dict[str, str] = {
    "Scale": "1 metadata ObjectMeta; 2 spec ScaleSpec; 3 status ScaleStatus",
    "ScaleSpec": "1 replicas i",
    "ScaleStatus": "1 replicas i!; 2 selector s",
}
