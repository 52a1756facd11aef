"""The HorizontalPodAutoscaler controller: every sync period, for each HPA, read the
target's /scale, ask the metrics for a replica count, stabilize and rate-limit it, write
/scale when it differs, then the HPA's status.

Each HPA is reconciled when it appears or its spec changes, and then every
`sync_period` seconds (upstream's --horizontal-pod-autoscaler-sync-period); status
writes do not trigger a reconcile. Recommendations and scale events used by
stabilization live in memory, as upstream keeps them.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubelite.api import errors, labels
from kubelite.client import events, factory, informer, rest
from kubelite.controllers import controller
from kubelite.controllers.podautoscaler import behavior, compute, metrics
from kubelite.controllers.podautoscaler import status as st

Obj = dict[str, Any]
SYNC_PERIOD = 15.0


def _stamp(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class HorizontalController(controller.Controller):
    name = "horizontal-pod-autoscaler"

    def __init__(self, client: rest.Client, informers: factory.InformerFactory, *,
                 sync_period: float = SYNC_PERIOD,
                 downscale_window: float = behavior.DEFAULT_DOWNSCALE_WINDOW,
                 source: metrics.Source | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(client, informers)
        self.sync_period = sync_period
        self.downscale_window = downscale_window
        self.source: metrics.Source = source or metrics.ApiSource(client)
        self.clock = clock
        self.hpa_rt = client.resource("autoscaling/v2", "HorizontalPodAutoscaler")
        self.hpa_informer = informers.informer("autoscaling/v2", "HorizontalPodAutoscaler")
        self.pod_informer = informers.informer("v1", "Pod")
        self.recorder = events.Recorder(client, "horizontal-pod-autoscaler")
        self.history: dict[str, behavior.History] = {}
        self.hpa_informer.add_handlers(informer.Handlers(
            on_add=self.enqueue, on_update=self._updated, on_delete=self.enqueue))

    def _updated(self, old: Obj, new: Obj) -> None:
        if old.get("spec") != new.get("spec"):
            self.enqueue(new)

    async def run(self, workers: int = 2) -> None:
        async with asyncio.TaskGroup() as tg:
            ticker = tg.create_task(self._tick())
            await super().run(workers)
            ticker.cancel()

    async def _tick(self) -> None:
        """Re-enqueue every HPA each sync period (the work queue coalesces repeats)."""
        await self.hpa_informer.wait_synced()
        while True:
            await asyncio.sleep(self.sync_period)
            for hpa in self.hpa_informer.list():
                self.enqueue(hpa)

    async def sync(self, key: str) -> None:
        cached = self.hpa_informer.get(key)
        if cached is None:
            self.history.pop(key, None)
            return
        hpa = copy.deepcopy(cached)
        hpa.setdefault("apiVersion", "autoscaling/v2")
        hpa.setdefault("kind", "HorizontalPodAutoscaler")
        await self.reconcile(key, hpa)

    def event(self, hpa: Obj, type_: str, reason: str, message: str) -> None:
        self.recorder.event(hpa, type_, reason, message)

    async def _get_scale(self, hpa: Obj, status: Obj, now: str) -> tuple[Any, Obj | None]:
        ref, ns = hpa["spec"]["scaleTargetRef"], hpa["metadata"]["namespace"]
        try:
            try:
                rt = self.client.resource(ref.get("apiVersion", ""), ref.get("kind", ""))
            except errors.APIError as e:
                raise errors.BadRequest(
                    f"unable to determine resource for scale target reference: {e}") from e
            scale = await self.client.request("GET", self.client.path(rt, ns, ref["name"],
                                                                        "scale"))
        except errors.APIError as e:
            self.event(hpa, "Warning", "FailedGetScale", str(e))
            st.set_condition(status, st.ABLE, False, "FailedGetScale",
                             f"the HPA controller was unable to get the target's current "
                             f"scale: {e}", now)
            return None, None
        st.set_condition(status, st.ABLE, True, "SucceededGetScale",
                         "the HPA controller was able to get the target's current scale", now)
        return rt, scale

    async def reconcile(self, key: str, hpa: Obj) -> None:
        """One pass over one HPA (hpa is a private copy)."""
        now_s = self.clock()
        now = _stamp(now_s)
        status: Obj = copy.deepcopy(hpa.get("status") or {})
        rt, scale = await self._get_scale(hpa, status, now)
        if scale is None:
            await self._write_status(hpa, status)
            return
        current = int((scale.get("spec") or {}).get("replicas") or 0)
        self.history.setdefault(key, behavior.History(recommendations=[(now_s, current)]))
        desired, reason = await self._desired(key, hpa, scale, status, current, now_s)
        if desired is None:
            status.update(currentReplicas=current, desiredReplicas=current)
            await self._write_status(hpa, status)
            return
        if desired != current:
            if not await self._rescale(hpa, rt, scale, status, desired, reason, now):
                status.update(currentReplicas=current, desiredReplicas=current)
                await self._write_status(hpa, status)
                return
            behavior.record_scale(self.history[key], hpa["spec"].get("behavior"), current,
                                  desired, now_s)
            status["lastScaleTime"] = now
        status.update(currentReplicas=current, desiredReplicas=desired)
        await self._write_status(hpa, status)

    async def _desired(self, key: str, hpa: Obj, scale: Obj, status: Obj, current: int,
                       now_s: float) -> tuple[int | None, str]:
        """(desired replicas, rescale reason), or (None, "") when metrics failed."""
        spec, now = hpa["spec"], _stamp(now_s)
        low, high = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        if current == 0 and low != 0:
            st.set_condition(status, st.ACTIVE, False, "ScalingDisabled", "scaling is disabled "
                             "since the replica count of the target is zero", now)
            return 0, ""
        if current > high:
            return high, "Current number of replicas above Spec.MaxReplicas"
        if current < low:
            return low, "Current number of replicas below Spec.MinReplicas"
        outcome = await self._metrics(hpa, scale, status, current, now_s)
        if outcome is None:
            return None, ""
        proposal = outcome.replicas
        reason = (f"{outcome.metric} above target" if proposal > current else
                  "All metrics below target" if proposal < current else "")
        decision = self._normalize(key, spec, current, proposal, now_s)
        st.set_condition(status, st.ABLE, True, *decision.able, now)
        st.set_condition(status, st.LIMITED, decision.limited != behavior.WITHIN,
                         *decision.limited, now)
        return decision.replicas, reason

    def _normalize(self, key: str, spec: Obj, current: int, proposal: int,
                   now_s: float) -> behavior.Decision:
        low, high = int(spec.get("minReplicas", 1)), int(spec["maxReplicas"])
        history = self.history[key]
        if spec.get("behavior") is None:
            return behavior.normalize_default(history, current, proposal, low=low, high=high,
                                              now=now_s, window=self.downscale_window)
        return behavior.normalize_with_behavior(history, current, proposal, spec["behavior"],
                                                low=low, high=high, now=now_s,
                                                default_down_window=self.downscale_window)

    async def _metrics(self, hpa: Obj, scale: Obj, status: Obj, current: int,
                       now_s: float) -> compute.Outcome | None:
        now = _stamp(now_s)
        selector = (scale.get("status") or {}).get("selector") or ""
        if not self._valid_selector(hpa, selector, status, now):
            return None
        ns = hpa["metadata"]["namespace"]
        parsed = labels.parse(selector)
        pods = [p for p in self.pod_informer.by_index("namespace", ns)
                if parsed.matches(p["metadata"].get("labels") or {})]
        specs = hpa["spec"].get("metrics") or []
        outcome = await compute.for_metrics(specs, current, pods, self.source, namespace=ns,
                                            selector=selector,
                                            now=datetime.fromtimestamp(now_s, UTC))
        for reason, message in outcome.failures:
            self.event(hpa, "Warning", reason, message)
        if any(s.get("type") for s in outcome.statuses):
            status["currentMetrics"] = outcome.statuses
        else:
            status.pop("currentMetrics", None)
        if outcome.active[1]:
            st.set_condition(status, st.ACTIVE, *outcome.active, now)
        if outcome.replicas < 0:
            self.event(hpa, "Warning", "FailedComputeMetricsReplicas", outcome.error)
            return None
        return outcome

    def _valid_selector(self, hpa: Obj, selector: str, status: Obj, now: str) -> bool:
        if not selector:
            self.event(hpa, "Warning", "SelectorRequired", "selector is required")
            st.set_condition(status, st.ACTIVE, False, "InvalidSelector",
                             "the HPA target's scale is missing a selector", now)
            return False
        try:
            labels.parse(selector)
        except errors.APIError as e:
            self.event(hpa, "Warning", "InvalidSelector", "couldn't convert selector into a "
                       f"corresponding internal selector object: {e}")
            st.set_condition(status, st.ACTIVE, False, "InvalidSelector",
                             f"the HPA target's scale has an invalid selector: {e}", now)
            return False
        return True

    async def _rescale(self, hpa: Obj, rt: Any, scale: Obj, status: Obj, desired: int,
                       reason: str, now: str) -> bool:
        ref, ns = hpa["spec"]["scaleTargetRef"], hpa["metadata"]["namespace"]
        body = copy.deepcopy(scale)
        body.setdefault("spec", {})["replicas"] = desired
        try:
            await self.client.request("PUT", self.client.path(rt, ns, ref["name"], "scale"),
                                      body=body)
        except errors.APIError as e:
            st.set_condition(status, st.ABLE, False, "FailedUpdateScale",
                             f"the HPA controller was unable to update the target scale: {e}",
                             now)
            self.event(hpa, "Warning", "FailedRescale",
                       f"New size: {desired}; reason: {reason}; error: {e}")
            return False
        st.set_condition(status, st.ABLE, True, "SucceededRescale",
                         f"the HPA controller was able to update the target scale to {desired}",
                         now)
        self.event(hpa, "Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
        return True

    async def _write_status(self, hpa: Obj, status: Obj) -> None:
        if status == (hpa.get("status") or {}):
            return
        hpa["status"] = status
        try:
            await self.client.update_status(self.hpa_rt, hpa)
        except errors.APIError as e:
            if not errors.is_conflict(e):
                raise
            # The cache lagged behind (often our own last write). Retrying the whole sync
            # would rescale twice, so write this pass's status onto the current object.
            fresh = await self.client.get(self.hpa_rt, hpa["metadata"]["name"],
                                          hpa["metadata"]["namespace"])
            fresh["status"] = status
            await self.client.update_status(self.hpa_rt, fresh)
