"""The default scheduler profile: upstream's default plugin set, order and weights.

Registry and profile are explicit data built in functions; `new_framework` validates
plugin args through each plugin's `new(args, handle)`.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

from kubelite.scheduler import framework
from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler.plugins import (
    default_binder,
    default_preemption,
    inter_pod_affinity,
    node_affinity,
    node_name,
    node_ports,
    node_resources_balanced_allocation,
    node_resources_fit,
    node_unschedulable,
    pod_topology_spread,
    taint_toleration,
    volume_binding,
)

DEFAULT_SCHEDULER_NAME = "default-scheduler"

# (plugin, score weight or 0 when it does not score), in upstream's default order
DEFAULT_PLUGINS: tuple[tuple[str, int], ...] = (
    (node_unschedulable.NAME, 0),
    (node_name.NAME, 0),
    (taint_toleration.NAME, 3),
    (node_affinity.NAME, 2),
    (node_ports.NAME, 0),
    (node_resources_fit.NAME, 1),
    (volume_binding.NAME, 0),
    (pod_topology_spread.NAME, 2),
    (inter_pod_affinity.NAME, 2),
    (node_resources_balanced_allocation.NAME, 1),
    (default_preemption.NAME, 0),
    (default_binder.NAME, 0),
)


def registry() -> dict[str, ModuleType]:
    """Plugin name -> module (with `new(args, handle)`); a duplicate name raises."""
    modules = (
        default_binder, default_preemption, inter_pod_affinity, node_affinity, node_name, node_ports,
        node_resources_balanced_allocation, node_resources_fit, node_unschedulable, pod_topology_spread,
        taint_toleration, volume_binding,
    )
    out: dict[str, ModuleType] = {}
    for module in modules:
        if module.NAME in out:
            raise ValueError(f"duplicate scheduler plugin {module.NAME}")
        out[module.NAME] = module
    return out


def new_framework(
    handle: handle_mod.Handle,
    *,
    plugins: tuple[tuple[str, int], ...] = DEFAULT_PLUGINS,
    plugin_args: dict[str, dict[str, Any]] | None = None,
    percentage_of_nodes_to_score: int = 0,
    rng: random.Random | None = None,
) -> framework.Framework:
    """Build a Framework; each plugin serves every extension point it implements."""
    known = registry()
    args = plugin_args or {}
    unknown = [name for name, _ in plugins if name not in known] + [n for n in args if n not in known]
    if unknown:
        raise ValueError(f"unknown scheduler plugins {sorted(set(unknown))}")
    instances = [(known[name].new(args.get(name), handle), weight) for name, weight in plugins]
    return framework.Framework(
        handle, _by_extension_point(instances),
        percentage_of_nodes_to_score=percentage_of_nodes_to_score, rng=rng,
    )


def _by_extension_point(instances: list[tuple[Any, int]]) -> framework.Plugins:
    def having(method: str) -> tuple[Any, ...]:
        return tuple(p for p, _ in instances if callable(getattr(p, method, None)))

    return framework.Plugins(
        pre_filter=having("pre_filter"),
        filter=having("filter"),
        post_filter=having("post_filter"),
        pre_score=having("pre_score"),
        score=tuple((p, w) for p, w in instances if callable(getattr(p, "score", None)) and w > 0),
        reserve=having("reserve"),
        permit=having("permit"),
        bind=having("bind"),
    )
