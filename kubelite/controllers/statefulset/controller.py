"""The StatefulSet controller loop: claims the set's pods, keeps its ControllerRevisions,
carries out the next steps of `plan`, keeps claim ownership per the retention policy and
writes status last. Pods and claims have fixed names, so a repeated create meets
AlreadyExists and a repeated delete NotFound: both are harmless and need no expectations.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelite.api import errors, labels
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller, ownership
from kubelite.controllers.statefulset import claims, identity, plan, revisions, status

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def _selector(sts: Obj) -> labels.Selector:
    return labels.from_label_selector(identity.spec(sts).get("selector") or {})


class StatefulSetController(controller.Controller):
    name = "statefulset-controller"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory) -> None:
        super().__init__(client, informers)
        self.sts_rt = client.resource("apps/v1", "StatefulSet")
        self.pod_rt = client.resource("v1", "Pod")
        self.pvc_rt = client.resource("v1", "PersistentVolumeClaim")
        self.rev_rt = client.resource("apps/v1", "ControllerRevision")
        self.sts_informer = informers.informer("apps/v1", "StatefulSet")
        self.pod_informer = informers.informer("v1", "Pod", controller=informer.by_controller)
        self.rev_informer = informers.informer("apps/v1", "ControllerRevision",
                                               controller=informer.by_controller)
        self.pvc_informer = informers.informer("v1", "PersistentVolumeClaim")
        self.recorder = events.Recorder(client, self.name)
        self.sts_informer.add_handlers(self.enqueue_handlers())
        self.pod_informer.add_handlers(informer.Handlers(
            on_add=self._pod_changed, on_update=self._pod_updated, on_delete=self._pod_changed))
        self.pvc_informer.add_handlers(informer.Handlers(on_delete=self._claim_deleted))

    # -- mapping pod events to sets ---------------------------------------------------------

    def _pod_changed(self, pod: Obj) -> None:
        ref = ownership.controller_ref(pod)
        ns = pod["metadata"]["namespace"]
        if ref is not None:
            if ref.get("kind") == "StatefulSet":
                self.queue.add(f"{ns}/{ref['name']}")
            return
        pod_labels = pod["metadata"].get("labels") or {}
        for sts in self.sts_informer.by_index("namespace", ns):
            if _selector(sts).matches(pod_labels):
                self.enqueue(sts)

    def _claim_deleted(self, claim: Obj) -> None:
        """Claims carry their set's matchLabels: a pending pod may need its claim again."""
        claim_labels = claim["metadata"].get("labels") or {}
        for sts in self.sts_informer.by_index("namespace", claim["metadata"]["namespace"]):
            if identity.spec(sts).get("volumeClaimTemplates") and \
                    _selector(sts).matches(claim_labels):
                self.enqueue(sts)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        if ownership.controller_ref(old) != ownership.controller_ref(new):
            self._pod_changed(old)
        self._pod_changed(new)

    # -- reconcile ---------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        sts = self.sts_informer.get(key)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return      # a set being deleted is left to the garbage collector, as upstream
        owned = await self._claim_pods(sts)
        revs, collisions, by_name = await self._revisions(sts)
        now = events.now_datetime()
        await self._retain_claims(sts, owned)
        for pod in owned:       # a pending pod whose claim was deleted gets it back
            if (pod.get("status") or {}).get("phase") == "Pending":
                await self._create_claims(sts, pod, identity.ordinal_of(pod))
        await self._apply(sts, plan.next_steps(sts, owned, revs, now), by_name)
        new_status = status.compute(sts, owned, revs, collisions, now)
        await self._write_status(sts, new_status)
        await self._truncate(sts, owned, revs)
        min_ready = int(identity.spec(sts).get("minReadySeconds") or 0)
        if min_ready and new_status["readyReplicas"] > new_status["availableReplicas"]:
            self.queue.add_after(key, float(min_ready))     # availability comes with time

    async def _claim_pods(self, sts: Obj) -> list[Obj]:
        """Owned pods that still match, after adopting orphans and releasing mismatches."""
        selector = _selector(sts)
        return await ownership.claim(
            self.client, self.pod_rt, sts,
            self.pod_informer.by_index("namespace", sts["metadata"]["namespace"]),
            lambda pod: selector.matches(pod["metadata"].get("labels") or {})
            and identity.is_member(sts, pod))

    def _owned_revisions(self, sts: Obj) -> list[Obj]:
        return self.rev_informer.by_index("controller", sts["metadata"]["uid"])

    async def _revisions(self, sts: Obj) -> tuple[plan.Revisions, int, dict[str, Obj]]:
        """(current, update) revision names, creating or renumbering the update revision."""
        existing = revisions.ordered(self._owned_revisions(sts))
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        latest = existing[-1]["metadata"]["name"] if existing else ""
        candidate = revisions.new(sts, 0, collisions)
        equal = [r for r in existing if revisions.same(r, candidate)]
        next_number = (revisions.number(existing[-1]) if existing else 0) + 1
        if equal and equal[-1]["metadata"]["name"] == latest:
            update = equal[-1]
        elif equal:
            update = dict(equal[-1], revision=next_number)
            update = await self.client.update(self.rev_rt, update)
        else:
            candidate["revision"] = next_number
            update = await self._create_revision(sts, candidate)
        by_name = {r["metadata"]["name"]: r for r in existing}
        by_name[update["metadata"]["name"]] = update
        current = revisions.current_name(sts, by_name, update)
        return (plan.Revisions(current=current, update=update["metadata"]["name"]), collisions,
                by_name)

    async def _create_revision(self, sts: Obj, candidate: Obj) -> Obj:
        ns = sts["metadata"]["namespace"]
        try:
            return await self.client.create(self.rev_rt, candidate, ns)
        except errors.APIError as e:
            if not errors.is_already_exists(e):
                raise
        found = await self.client.get(self.rev_rt, candidate["metadata"]["name"], ns)
        owner = ownership.controller_ref(found)
        if owner is not None and owner.get("uid") == sts["metadata"]["uid"] and \
                revisions.same(found, candidate):
            return found
        # A hash collision: bump collisionCount so the next sync picks another name.
        bumped = dict(sts, status={**(sts.get("status") or {}), "collisionCount": int(
            (sts.get("status") or {}).get("collisionCount") or 0) + 1})
        await self.client.update_status(self.sts_rt, bumped)
        raise errors.Conflict("apps", "controllerrevisions", candidate["metadata"]["name"],
                              "hash collision")

    # -- acting on the plan ------------------------------------------------------------------

    async def _apply(self, sts: Obj, steps: plan.Plan, by_name: dict[str, Obj]) -> None:
        results = await asyncio.gather(
            *(self._create_pod(sts, o, by_name[r]) for o, r in steps.create),
            *(self._delete_pod(sts, p) for p in steps.delete),
            *(self.client.patch(self.pod_rt, p["metadata"]["name"],
                                identity.identity_patch(sts, p),
                                namespace=p["metadata"]["namespace"]) for p in steps.relabel),
            return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r

    async def _create_pod(self, sts: Obj, ordinal: int, revision: Obj) -> None:
        pod = identity.new_pod(sts, ordinal, revisions.template_of(revision),
                               revision["metadata"]["name"])
        await self._create_claims(sts, pod, ordinal)
        kind, name, set_name = "Pod", pod["metadata"]["name"], sts["metadata"]["name"]
        try:
            await self.client.create(self.pod_rt, pod, sts["metadata"]["namespace"])
        except errors.APIError as e:
            if errors.is_already_exists(e):
                return
            self.recorder.event(sts, "Warning", "FailedCreate",
                                f"create {kind} {name} in StatefulSet {set_name} failed error: {e}")
            raise
        self.recorder.event(sts, "Normal", "SuccessfulCreate",
                            f"create {kind} {name} in StatefulSet {set_name} successful")

    async def _create_claims(self, sts: Obj, pod: Obj, ordinal: int) -> None:
        ns, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        for claim in identity.claims(sts, ordinal):
            cname = claim["metadata"]["name"]
            if self.pvc_informer.get(f"{ns}/{cname}") is not None:
                continue
            claim["metadata"]["ownerReferences"] = claims.owner_refs(sts, None, claim,
                                                                     condemned=False)
            msg = f"Claim {cname} Pod {pod['metadata']['name']} in StatefulSet {set_name}"
            try:
                await self.client.create(self.pvc_rt, claim, ns)
            except errors.APIError as e:
                if errors.is_already_exists(e):
                    continue
                self.recorder.event(sts, "Warning", "FailedCreate",
                                    f"create {msg} failure: {e}")
                raise
            self.recorder.event(sts, "Normal", "SuccessfulCreate", f"create {msg} success")

    async def _delete_pod(self, sts: Obj, pod: Obj) -> None:
        name = pod["metadata"]["name"]
        try:
            await self.client.delete(self.pod_rt, name, pod["metadata"]["namespace"],
                                     uid=pod["metadata"]["uid"])
        except errors.APIError as e:
            if errors.is_not_found(e) or errors.is_conflict(e):
                return
            self.recorder.event(sts, "Warning", "FailedDelete",
                                f"delete Pod {name} in StatefulSet {sts['metadata']['name']} "
                                f"failed error: {e}")
            raise
        self.recorder.event(sts, "Normal", "SuccessfulDelete",
                            f"delete Pod {name} in StatefulSet {sts['metadata']['name']} successful")

    async def _retain_claims(self, sts: Obj, owned: list[Obj]) -> None:
        """Bring the owners of existing claims in line with the retention policy."""
        ns = sts["metadata"]["namespace"]
        wanted = set(identity.ordinals(sts))
        for pod in owned:
            condemned = identity.ordinal_of(pod) not in wanted
            for cname in claims.pod_claim_names(sts, pod):
                claim = self.pvc_informer.get(f"{ns}/{cname}")
                if claim is None:
                    continue
                refs = claims.owner_refs(sts, pod, claim, condemned=condemned)
                if claims.needs_update(claim, refs):
                    patch = {"metadata": {"ownerReferences": refs,
                                          "resourceVersion": claim["metadata"]["resourceVersion"]}}
                    await self.client.patch(self.pvc_rt, cname, patch, namespace=ns)

    # -- status and history ------------------------------------------------------------------

    async def _write_status(self, sts: Obj, new_status: Obj) -> None:
        if not status.changed(sts, new_status):
            return
        try:
            await self.client.update_status(self.sts_rt, dict(sts, status=new_status))
        except errors.APIError as e:
            if not errors.is_not_found(e):
                raise

    async def _truncate(self, sts: Obj, owned: list[Obj], revs: plan.Revisions) -> None:
        live = {revs.current, revs.update} | {identity.revision_of(p) for p in owned}
        for rev in revisions.to_truncate(sts, self._owned_revisions(sts), live):
            try:
                await self.client.delete(self.rev_rt, rev["metadata"]["name"],
                                         rev["metadata"]["namespace"])
            except errors.APIError as e:
                if not errors.is_not_found(e):
                    raise
