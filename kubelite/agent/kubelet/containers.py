"""A pod's container spec turned into the runtime's ContainerConfig."""

from __future__ import annotations

from typing import Any

from kubelite.agent.kubelet import envs
from kubelite.agent.runtime import protocol
from kubelite.api import quantity

Obj = dict[str, Any]
CPU_PERIOD = 100_000


def _amount(value: Any) -> float:
    return float(quantity.parse(value).amount)


def resources(container: Obj, pids_limit: int = 0) -> protocol.Resources:
    """Limits as cgroup settings: memory bytes, CFS quota per 100 ms, shares from requests."""
    res = container.get("resources") or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    memory = int(_amount(limits["memory"])) if "memory" in limits else 0
    quota = int(_amount(limits["cpu"]) * CPU_PERIOD) if "cpu" in limits else 0
    cpu_request = requests.get("cpu", limits.get("cpu"))
    shares = max(2, int(_amount(cpu_request) * 1024)) if cpu_request is not None else 2
    return protocol.Resources(cpu_period=CPU_PERIOD if quota else 0,
                              cpu_quota=max(quota, 1000) if quota else 0, cpu_shares=shares,
                              memory_limit=memory, pids_limit=pids_limit)


def _security(pod: Obj, container: Obj) -> Obj:
    """The container's securityContext over the pod's (runAsUser, runAsGroup ...)."""
    pod_sc = (pod.get("spec") or {}).get("securityContext") or {}
    sc = container.get("securityContext") or {}
    merged = {k: pod_sc[k] for k in ("runAsUser", "runAsGroup") if k in pod_sc}
    merged.update(sc)
    merged["supplementalGroups"] = pod_sc.get("supplementalGroups") or []
    if pod_sc.get("fsGroup") is not None:
        merged["supplementalGroups"] = [*merged["supplementalGroups"], pod_sc["fsGroup"]]
    return merged


def config(pod: Obj, container: Obj, *, env: list[tuple[str, str]],
           mounts: tuple[protocol.Mount, ...], attempt: int,
           pids_limit: int = 0) -> protocol.ContainerConfig:
    meta = pod["metadata"]
    sc = _security(pod, container)
    caps = sc.get("capabilities") or {}
    env_map = dict(env)
    return protocol.ContainerConfig(
        name=container["name"], image=container["image"],
        command=tuple(envs.expand(a, env_map) for a in container.get("command") or []),
        args=tuple(envs.expand(a, env_map) for a in container.get("args") or []),
        env=tuple(env), working_dir=container.get("workingDir") or "", mounts=mounts,
        user=sc.get("runAsUser"), group=sc.get("runAsGroup"),
        supplemental_groups=tuple(sc["supplementalGroups"]),
        readonly_rootfs=bool(sc.get("readOnlyRootFilesystem")),
        privileged=bool(sc.get("privileged")),
        capabilities_add=tuple(caps.get("add") or ()), capabilities_drop=tuple(caps.get("drop") or ()),
        resources=resources(container, pids_limit), tty=bool(container.get("tty")),
        stdin=bool(container.get("stdin")), stdin_once=bool(container.get("stdinOnce")),
        log_path=f"{container['name']}/{attempt}.log",
        attempt=attempt,
        labels={"io.kubernetes.container.name": container["name"],
                "io.kubernetes.pod.name": meta["name"],
                "io.kubernetes.pod.namespace": meta["namespace"],
                "io.kubernetes.pod.uid": meta["uid"]})
