"""Printers for apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet, ControllerRevision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubelite.api import errors, labels
from kubelite.api.printers import cells, columns
from kubelite.api.printers.columns import column

Obj = dict[str, Any]


def _template(obj: Obj) -> tuple[str, str]:
    return cells.containers(cells.get(obj, "spec", "template", "spec"))


def _deployment(d: Obj, now: datetime) -> list[Any]:
    try:
        selector = str(labels.from_label_selector(cells.get(d, "spec", "selector")))
    except errors.BadRequest:
        selector = "<invalid>"
    ready = cells.integer(d, "status", "readyReplicas")
    names, images = _template(d)
    return [cells.name(d), f"{ready}/{cells.integer(d, 'spec', 'replicas', default=1)}",
            cells.integer(d, "status", "updatedReplicas"),
            cells.integer(d, "status", "availableReplicas"), cells.age(d, now),
            names, images, selector]


def _replica_set(rs: Obj, now: datetime) -> list[Any]:
    names, images = _template(rs)
    return [cells.name(rs), cells.integer(rs, "spec", "replicas", default=1),
            cells.integer(rs, "status", "replicas"), cells.integer(rs, "status", "readyReplicas"),
            cells.age(rs, now), names, images,
            labels.format_label_selector(cells.get(rs, "spec", "selector"))]


def _stateful_set(s: Obj, now: datetime) -> list[Any]:
    names, images = _template(s)
    ready = cells.integer(s, "status", "readyReplicas")
    return [cells.name(s), f"{ready}/{cells.integer(s, 'spec', 'replicas', default=1)}",
            cells.age(s, now), names, images]


def _daemon_set(ds: Obj, now: datetime) -> list[Any]:
    names, images = _template(ds)
    counts = [cells.integer(ds, "status", k) for k in (
        "desiredNumberScheduled", "currentNumberScheduled", "numberReady",
        "updatedNumberScheduled", "numberAvailable")]
    return [cells.name(ds), *counts,
            labels.format_labels(cells.get(ds, "spec", "template", "spec", "nodeSelector")),
            cells.age(ds, now), names, images,
            labels.format_label_selector(cells.get(ds, "spec", "selector"))]


def _controller_revision(cr: Obj, now: datetime) -> list[Any]:
    owner = next((r for r in cells.get(cr, "metadata", "ownerReferences", default=[])
                  if r.get("controller")), None)
    controller = "<none>"
    if owner is not None:
        group = str(owner.get("apiVersion", "")).rpartition("/")[0]
        kind = f"{owner.get('kind', '')}.{group}" if group else str(owner.get("kind", ""))
        controller = f"{kind.lower()}/{owner.get('name', '')}" if kind else str(owner.get("name"))
    return [cells.name(cr), controller, cells.integer(cr, "revision"), cells.age(cr, now)]


def printers() -> dict[tuple[str, str], columns.Printer]:
    p, name, age = columns.printer, columns.name, columns.age
    ready = column("Ready", description="Number of the pod with ready state")
    return {
        ("apps", "Deployment"): p([
            name(), ready,
            column("Up-to-date", description="Replicas running the latest template."),
            column("Available", description="Replicas available for at least minReadySeconds."),
            age(), *columns.template_columns()], _deployment),
        ("apps", "ReplicaSet"): p([
            name(), column("Desired", "integer", "Desired number of replicas."),
            column("Current", "integer", "Most recently observed number of replicas."),
            column("Ready", "integer", "Number of ready replicas."), age(),
            *columns.template_columns()], _replica_set),
        ("apps", "StatefulSet"): p([name(), ready, age(),
                                    *columns.template_columns(with_selector=False)], _stateful_set),
        ("apps", "DaemonSet"): p([
            name(), column("Desired", "integer", "Nodes that should run the daemon pod."),
            column("Current", "integer", "Nodes running at least one daemon pod."),
            column("Ready", "integer", "Nodes with a ready daemon pod."),
            column("Up-to-date", "integer", "Nodes running the updated daemon pod."),
            column("Available", "integer", "Nodes with an available daemon pod."),
            column("Node Selector", description="Node labels the daemon pods must match."),
            age(), *columns.template_columns()], _daemon_set),
        ("apps", "ControllerRevision"): p([
            name(), column("Controller", description="Controller of the object"),
            column("Revision", description="Revision number of the state."), age()],
            _controller_revision),
    }
