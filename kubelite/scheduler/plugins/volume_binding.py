"""VolumeBinding: a pod fits only nodes where every PersistentVolumeClaim it uses can be used.

PreFilter rejects a pod whose claims are missing, being deleted or lost, or that has an
unbound claim of an Immediate-mode class (the binder must bind it first). Filter checks,
per node, that each bound claim's PV allows the node (spec.nodeAffinity), and that each
unbound WaitForFirstConsumer claim could get a volume there: kubelite's local-path
provisioner only serves nodes that advertise a local-path root, and a claim of a class
without provisioner (`kubernetes.io/no-provisioner`, local volumes made by hand) needs a
free volume of its class whose node affinity admits the node. Such a volume is chosen
here, reserved, and pre-bound (its claimRef written) just before the pod is bound; the
binder completes the binding. A pod without claims is skipped at PreFilter and costs
nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubelite.api import claims, errors, nodeselector
from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol

NAME = "VolumeBinding"
ERR_NODE_CONFLICT = "node(s) had volume node affinity conflict"
ERR_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
ERR_NO_LOCAL_PATH = "node(s) did not offer local-path storage (no kubelite.io/local-path-root annotation)"
ERR_PV_NOT_EXIST = "pvc(s) bound to non-existent pv(s)"
ERR_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"

LOCAL_PATH_PROVISIONER = claims.LOCAL_PATH_PROVISIONER
NO_PROVISIONER = "kubernetes.io/no-provisioner"
LOCAL_PATH_ROOT = claims.LOCAL_PATH_ROOT
SELECTED_NODE = claims.SELECTED_NODE
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"

Obj = dict[str, Any]


@dataclass
class _State:
    """The pod's claims sorted once per cycle: bound ones with their PV (None: missing)."""

    bound: list[tuple[Obj, Obj | None]] = field(default_factory=list)
    delayed: list[tuple[Obj, Obj | None]] = field(default_factory=list)  # (claim, class)
    # claims that need a free volume, with the volumes of their class they might take
    static: list[tuple[Obj, list[Obj]]] = field(default_factory=list)
    chosen: dict[str, list[tuple[Obj, Obj]]] = field(default_factory=dict)  # node -> (pv, claim)


def claim_names(pod: Obj) -> list[tuple[str, bool]]:
    """(claim name, is ephemeral) of every volume backed by a claim, in volume order."""
    out = []
    for volume in (pod.get("spec") or {}).get("volumes") or ():
        pvc = volume.get("persistentVolumeClaim")
        if pvc is not None:
            out.append((pvc.get("claimName") or "", False))
        elif volume.get("ephemeral") is not None:
            out.append((claims.ephemeral_claim_name(pod, volume), True))
    return out


def claim_problem(pod: Obj, claim: Obj | None, name: str, ephemeral: bool) -> str:
    """Why the claim makes the pod unschedulable on every node, or ""."""
    if claim is None:
        if ephemeral:
            return f'waiting for ephemeral volume controller to create the persistentvolumeclaim "{name}"'
        return f'persistentvolumeclaim "{name}" not found'
    if (claim.get("status") or {}).get("phase") == "Lost":
        volume_name = (claim.get("spec") or {}).get("volumeName") or ""
        return f'persistentvolumeclaim "{name}" bound to non-existent persistentvolume "{volume_name}"'
    if claim["metadata"].get("deletionTimestamp"):
        return f'persistentvolumeclaim "{name}" is being deleted'
    if ephemeral and not claims.made_for(claim, pod):
        pod_meta = pod["metadata"]
        return (f"PVC {claim['metadata'].get('namespace')}/{name} was not created for pod "
                f"{pod_meta.get('namespace')}/{pod_meta.get('name')} (pod is not owner)")
    return ""


class VolumeBinding:
    name = NAME

    def __init__(self, handle: handle_mod.Handle) -> None:
        self.handle = handle
        self.assumed: dict[str, str] = {}  # volume name -> uid of the claim it was reserved for

    def pre_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[protocol.PreFilterResult | None, protocol.Status | None]:
        if not pod.spec.get("volumes"):
            return None, protocol.SKIP
        names = claim_names(pod.pod)
        if not names:
            return None, protocol.SKIP
        found = []
        for name, ephemeral in names:
            claim = self.handle.claim(pod.namespace, name)
            problem = claim_problem(pod.pod, claim, name, ephemeral)
            if problem or claim is None:
                return None, protocol.unresolvable(problem)
            found.append(claim)
        sorted_claims, immediate = self._sort(found)
        if immediate:
            return None, protocol.unresolvable(ERR_UNBOUND_IMMEDIATE)
        state[NAME] = sorted_claims
        return None, None

    def _sort(self, pod_claims: list[Obj]) -> tuple[_State, bool]:
        """Bound and delayed claims; True when an unbound claim binds immediately."""
        out = _State()
        for claim in pod_claims:
            volume_name = (claim.get("spec") or {}).get("volumeName")
            if volume_name:
                out.bound.append((claim, self.handle.volume(volume_name)))
                continue
            class_name = claims.claim_class(claim)
            storage_class = self.handle.storage_class(class_name) if class_name else None
            if storage_class is None or storage_class.get("volumeBindingMode") != WAIT_FOR_FIRST_CONSUMER:
                return out, True
            out.delayed.append((claim, storage_class))
            if storage_class.get("provisioner") == NO_PROVISIONER and not _selected_node(claim):
                out.static.append((claim, self._free_volumes(claim)))
        return out, False

    def _free_volumes(self, claim: Obj) -> list[Obj]:
        """Volumes free for the claim: unclaimed and not reserved for another claim, or
        already naming it (the binder's matching then checks class, size and modes)."""
        uid = claim["metadata"].get("uid")
        out, present = [], set()
        for pv in self.handle.volumes():
            name = pv["metadata"]["name"]
            present.add(name)
            if (pv.get("spec") or {}).get("claimRef"):
                self.assumed.pop(name, None)  # written: the volume itself says whose it is
                if claims.is_bound_to(pv, claim):
                    out.append(pv)
            elif self.assumed.get(name, uid) == uid:
                out.append(pv)
        for name in [n for n in self.assumed if n not in present]:
            del self.assumed[name]
        return out

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        claims: _State = state[NAME]
        reasons = []
        if not _bound_fit(claims.bound, node):
            reasons.append(ERR_NODE_CONFLICT)
        unbound = _unbound_reason(claims.delayed, node)
        if not unbound and claims.static:
            chosen = _choose_volumes(claims.static, node)
            if chosen is None:
                unbound = ERR_BIND_CONFLICT
            else:
                claims.chosen[node.name] = chosen
        if unbound:
            reasons.append(unbound)
        if any(volume is None for _, volume in claims.bound):
            reasons.append(ERR_PV_NOT_EXIST)
        if not reasons:
            return None
        return protocol.Status(protocol.Code.UNSCHEDULABLE_AND_UNRESOLVABLE, tuple(reasons), NAME)

    def reserve(self, state: protocol.CycleState, pod: podinfo.PodInfo, node_name: str) -> protocol.Status | None:
        claims: _State | None = state.get(NAME)
        for pv, claim in claims.chosen.get(node_name, ()) if claims else ():
            self.assumed[pv["metadata"]["name"]] = claim["metadata"].get("uid", "")
        return None

    def unreserve(self, state: protocol.CycleState, pod: podinfo.PodInfo, node_name: str) -> None:
        claims: _State | None = state.get(NAME)
        for pv, _ in claims.chosen.get(node_name, ()) if claims else ():
            self.assumed.pop(pv["metadata"]["name"], None)

    async def bind(self, state: protocol.CycleState, pod: podinfo.PodInfo, node_name: str) -> protocol.Status | None:
        """Pre-bind the chosen volumes (upstream's PreBind), then let the binder bind the pod."""
        claims: _State | None = state.get(NAME)
        write = self.handle.bind_volume
        if claims is None or write is None:
            return protocol.SKIP
        for pv, claim in claims.chosen.get(node_name, ()):
            if (pv.get("spec") or {}).get("claimRef"):
                continue  # the volume already names the claim
            try:
                await write(pv, claim)
            except errors.APIError as e:
                return protocol.error(f"binding volumes: {e}")
        return protocol.SKIP

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (
            protocol.PVC_ADD, protocol.PVC_UPDATE, protocol.PV_ADD, protocol.PV_UPDATE,
            protocol.STORAGE_CLASS_ADD, protocol.STORAGE_CLASS_UPDATE,
            protocol.NODE_ADD, protocol.NODE_UPDATE,
        )


def _bound_fit(bound: list[tuple[Obj, Obj | None]], node: nodeinfo.NodeInfo) -> bool:
    """Whether every existing bound PV's required node affinity admits the node."""
    for _, volume in bound:
        if volume is None:
            continue
        required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")
        if required is None:
            continue
        if not nodeselector.matches_terms(required.get("nodeSelectorTerms") or [], node.labels, node.name):
            return False
    return True


def _choose_volumes(static: list[tuple[Obj, list[Obj]]], node: nodeinfo.NodeInfo
                    ) -> list[tuple[Obj, Obj]] | None:
    """A distinct free volume on the node for each claim (best match first), or None."""
    taken: set[str] = set()
    chosen = []
    for claim, volumes in static:
        here = [pv for pv in volumes if pv["metadata"]["name"] not in taken and _bound_fit([(claim, pv)], node)]
        pv = claims.find_best_match(claim, here)
        if pv is None:
            return None
        taken.add(pv["metadata"]["name"])
        chosen.append((pv, claim))
    return chosen


def _selected_node(claim: Obj) -> str | None:
    return (claim["metadata"].get("annotations") or {}).get(SELECTED_NODE)


def _unbound_reason(delayed: list[tuple[Obj, Obj | None]], node: nodeinfo.NodeInfo) -> str:
    """Why some WaitForFirstConsumer claim could not get a volume on the node, or ""."""
    for claim, storage_class in delayed:
        selected = _selected_node(claim)
        if selected is not None and selected != node.name:
            return ERR_BIND_CONFLICT
        if (storage_class or {}).get("provisioner") == LOCAL_PATH_PROVISIONER and not _local_path_root(node):
            return ERR_NO_LOCAL_PATH
    return ""


def _local_path_root(node: nodeinfo.NodeInfo) -> str:
    annotations = ((node.node or {}).get("metadata") or {}).get("annotations") or {}
    return annotations.get(LOCAL_PATH_ROOT) or ""


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> VolumeBinding:
    """args: VolumeBindingArgs upstream; only bindTimeoutSeconds is accepted (and unused)."""
    unknown = set(args or {}) - {"bindTimeoutSeconds"}
    if unknown:
        raise ValueError(f"VolumeBinding: unknown args {sorted(unknown)}")
    return VolumeBinding(handle)
