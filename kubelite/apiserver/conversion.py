"""Conversion between a served version and the version kept in the store.

Most types are stored as served. Two built-in families share storage across versions:
autoscaling/v1 HorizontalPodAutoscalers are stored as autoscaling/v2, and
events.k8s.io/v1 Events are stored as core/v1 Events (as upstream does).
"""

from __future__ import annotations

import copy
from typing import Any

from kubelite.api import registry

Obj = dict[str, Any]


def needs_conversion(rt: registry.ResourceType) -> bool:
    return rt.stored_group != rt.group or rt.stored_version != rt.version


def to_storage(rt: registry.ResourceType, obj: Obj) -> Obj:
    if not needs_conversion(rt):
        return obj
    if rt.kind == "HorizontalPodAutoscaler":
        return _hpa_v1_to_v2(obj)
    if rt.kind == "Event":
        return _events_to_core(obj)
    return obj


def from_storage(rt: registry.ResourceType, obj: Obj) -> Obj:
    if not needs_conversion(rt):
        return obj
    if rt.kind == "HorizontalPodAutoscaler":
        return _hpa_v2_to_v1(obj)
    if rt.kind == "Event":
        return _core_to_events(obj)
    return obj


def _hpa_v1_to_v2(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v2"
    spec = out.get("spec") or {}
    target = spec.pop("targetCPUUtilizationPercentage", None)
    if target is not None:
        spec["metrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": target}}}]
    status = out.get("status") or {}
    current = status.pop("currentCPUUtilizationPercentage", None)
    if current is not None:
        status["currentMetrics"] = [{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": current}}}]
    return out


def _hpa_v2_to_v1(obj: Obj) -> Obj:
    out = copy.deepcopy(obj)
    out["apiVersion"] = "autoscaling/v1"
    spec = out.get("spec") or {}
    for m in spec.pop("metrics", None) or []:
        res = m.get("resource") or {}
        if m.get("type") == "Resource" and res.get("name") == "cpu":
            spec["targetCPUUtilizationPercentage"] = res.get("target", {}).get("averageUtilization")
    spec.pop("behavior", None)
    status = out.get("status") or {}
    for m in status.pop("currentMetrics", None) or []:
        res = m.get("resource") or {}
        if m.get("type") == "Resource" and res.get("name") == "cpu":
            status["currentCPUUtilizationPercentage"] = res.get("current", {}).get(
                "averageUtilization")
    status.pop("conditions", None)
    return out


# core/v1 field <-> events.k8s.io/v1 field
_EVENT_RENAMES = (
    ("involvedObject", "regarding"), ("message", "note"), ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"), ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
)


def _core_to_events(obj: Obj) -> Obj:
    out = dict(obj)
    out["apiVersion"] = "events.k8s.io/v1"
    for core, ev in _EVENT_RENAMES:
        if core in out:
            out[ev] = out.pop(core)
    return out


def _events_to_core(obj: Obj) -> Obj:
    out = dict(obj)
    out["apiVersion"] = "v1"
    for core, ev in _EVENT_RENAMES:
        if ev in out:
            out[core] = out.pop(ev)
    return out
