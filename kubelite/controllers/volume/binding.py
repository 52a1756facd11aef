"""The objects the binder writes, computed without I/O: each function returns the changed
copy to write, or None when the object already says what it should (so a re-sync of a
bound pair writes nothing).
"""

from __future__ import annotations

import copy
from typing import Any

from kubelite.api import claims
from kubelite.client import events

Obj = dict[str, Any]

BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = claims.PROVISIONED_BY
SELECTED_NODE = claims.SELECTED_NODE


def _annotate(obj: Obj, key: str) -> bool:
    notes = obj["metadata"].setdefault("annotations", {})
    if key in notes:
        return False
    notes[key] = "yes"
    return True


def bound_volume(pv: Obj, claim: Obj) -> Obj | None:
    """The volume with its claimRef naming the claim (uid included); marked bound by the
    controller when nobody had pre-bound it to this claim."""
    chose = not claims.is_bound_to(pv, claim)
    out = copy.deepcopy(pv)
    dirty = False
    ref = out["spec"].get("claimRef") or {}
    meta = claim["metadata"]
    if (ref.get("name"), ref.get("namespace"), ref.get("uid")) != (
            meta["name"], meta.get("namespace"), meta.get("uid")):
        out["spec"]["claimRef"] = claims.claim_ref(claim)
        dirty = True
    if chose:
        dirty = _annotate(out, BOUND_BY_CONTROLLER) or dirty
    return out if dirty else None


def bound_claim(claim: Obj, pv: Obj) -> Obj | None:
    """The claim naming the volume, with bind-completed (and bound-by-controller when the
    binder, not the user, filled in spec.volumeName)."""
    out = copy.deepcopy(claim)
    dirty = False
    if (out.get("spec") or {}).get("volumeName") != pv["metadata"]["name"]:
        out.setdefault("spec", {})["volumeName"] = pv["metadata"]["name"]
        _annotate(out, BOUND_BY_CONTROLLER)
        dirty = True
    dirty = _annotate(out, BIND_COMPLETED) or dirty
    return out if dirty else None


def claim_status(claim: Obj, phase: str, pv: Obj | None) -> Obj | None:
    """The claim with the given phase; a bound claim reports its volume's access modes and
    capacity, any other claim none."""
    status = claim.get("status") or {}
    want = {k: v for k, v in status.items() if k not in ("accessModes", "capacity")}
    want["phase"] = phase
    if pv is not None:
        spec = pv.get("spec") or {}
        if spec.get("accessModes"):
            want["accessModes"] = list(spec["accessModes"])
        if spec.get("capacity"):
            want["capacity"] = dict(spec["capacity"])
    if want == status:
        return None
    out = copy.deepcopy(claim)
    out["status"] = want
    return out


def volume_status(pv: Obj, phase: str, message: str = "") -> Obj | None:
    """The volume in the given phase (with lastPhaseTransitionTime when it changes)."""
    status = pv.get("status") or {}
    if status.get("phase") == phase and status.get("message", "") == message:
        return None
    out = copy.deepcopy(pv)
    new = dict(status, phase=phase)
    new.pop("message", None)
    new.pop("reason", None)
    if message:
        new["message"] = message
    if status.get("phase") != phase:
        new["lastPhaseTransitionTime"] = events.now()
    out["status"] = new
    return out


def unbound_volume(pv: Obj) -> Obj | None:
    """A volume the binder bound to a claim that went elsewhere: free again. A user's
    pre-binding is kept (only the uid goes), as upstream's unbindVolume does."""
    notes = pv["metadata"].get("annotations") or {}
    out = copy.deepcopy(pv)
    if BOUND_BY_CONTROLLER in notes:
        out["spec"].pop("claimRef", None)
        del out["metadata"]["annotations"][BOUND_BY_CONTROLLER]
    else:
        ref = out["spec"].get("claimRef") or {}
        if not ref.get("uid"):
            return None
        ref.pop("uid", None)
    return out
