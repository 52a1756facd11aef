"""Printers for cluster-wide policy kinds: Lease, PriorityClass, RuntimeClass, PDB, RBAC bindings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubelite.api.printers import cells, columns
from kubelite.api.printers.columns import column, wide

Obj = dict[str, Any]


def _pdb(pdb: Obj, now: datetime) -> list[Any]:
    spec = pdb.get("spec") or {}
    low, high = spec.get("minAvailable"), spec.get("maxUnavailable")
    return [cells.name(pdb), "N/A" if low is None else str(low),
            "N/A" if high is None else str(high),
            cells.integer(pdb, "status", "disruptionsAllowed"), cells.age(pdb, now)]


def _subjects(binding: Obj) -> tuple[str, str, str]:
    users, groups, sas = [], [], []
    for s in binding.get("subjects") or []:
        kind = s.get("kind")
        if kind == "ServiceAccount":
            sas.append(f"{s.get('namespace', '')}/{s.get('name', '')}")
        elif kind == "User":
            users.append(str(s.get("name", "")))
        elif kind == "Group":
            groups.append(str(s.get("name", "")))
    return ", ".join(users), ", ".join(groups), ", ".join(sas)


def _binding(b: Obj, now: datetime) -> list[Any]:
    ref = b.get("roleRef") or {}
    return [cells.name(b), f"{ref.get('kind', '')}/{ref.get('name', '')}", cells.age(b, now),
            *_subjects(b)]


def _priority_class(pc: Obj, now: datetime) -> list[Any]:
    return [cells.name(pc), cells.integer(pc, "value"), bool(pc.get("globalDefault")),
            cells.age(pc, now), pc.get("preemptionPolicy") or ""]


def _binding_printer(what: str) -> columns.Printer:
    return columns.printer([
        columns.name(), column("Role", description="The role the subjects are granted."),
        columns.age(), wide("Users", f"Users in the {what}"),
        wide("Groups", f"Groups in the {what}"),
        wide("ServiceAccounts", f"ServiceAccounts in the {what}")], _binding)


def printers() -> dict[tuple[str, str], columns.Printer]:
    p, name, age = columns.printer, columns.name, columns.age
    rbac = "rbac.authorization.k8s.io"
    return {
        ("coordination.k8s.io", "Lease"): p([
            name(), column("Holder", description="The identity holding the lease."), age()],
            lambda o, now: [cells.name(o), cells.get(o, "spec", "holderIdentity", default=""),
                            cells.age(o, now)]),
        ("scheduling.k8s.io", "PriorityClass"): p([
            name(), column("Value", "integer", "The priority pods of this class get."),
            column("Global-Default", "boolean", "Whether this is the default class."), age(),
            column("PreemptionPolicy", description="Whether pods of this class preempt others.")],
            _priority_class),
        ("node.k8s.io", "RuntimeClass"): p([
            name(), column("Handler", description="The CRI handler running the pods."), age()],
            lambda o, now: [cells.name(o), o.get("handler", ""), cells.age(o, now)]),
        ("policy", "PodDisruptionBudget"): p([
            name(), column("Min Available", description="The minimum number of pods that must "
                           "be available."),
            column("Max Unavailable", description="The maximum number of pods that may be "
                   "unavailable."),
            column("Allowed Disruptions", "integer", "Pods that may be disrupted now."), age()],
            _pdb),
        (rbac, "RoleBinding"): _binding_printer("roleBinding"),
        (rbac, "ClusterRoleBinding"): _binding_printer("clusterRoleBinding"),
    }
