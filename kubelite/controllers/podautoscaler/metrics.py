"""Where pod usage comes from: the resource metrics API (metrics.k8s.io PodMetrics), read
through the API server like any client. `Source` is the seam tests replace."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from kubelite.api import errors, quantity
from kubelite.client import rest
from kubelite.controllers.podautoscaler import replicas

Obj = dict[str, Any]


class Source(Protocol):
    async def pod_metrics(self, namespace: str, selector: str, resource: str,
                          container: str = "") -> dict[str, replicas.PodMetric]:
        """Usage of `resource` (milli-units) by pod name, for pods matching `selector`;
        raises replicas.MetricsError when the API cannot be read."""
        ...


def _duration(text: str) -> timedelta:
    """A Go duration as metrics-server writes windows ("10s", "1m0s", "500ms")."""
    total, number = 0.0, ""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text.startswith("ms", i) else ch
        total += float(number or 0) * units.get(unit, 0.0)
        number, i = "", i + len(unit)
    return timedelta(seconds=total)


def pod_metric(item: Obj, resource: str, container: str) -> replicas.PodMetric | None:
    """One PodMetrics' usage, or None when a counted container lacks the figure."""
    total, seen = 0, False
    for c in item.get("containers") or []:
        if container and c.get("name") != container:
            continue
        value = (c.get("usage") or {}).get(resource)
        if value is None:
            return None
        total, seen = total + quantity.milli_value(value), True
    if not seen:
        return None
    stamp = datetime.fromisoformat(str(item.get("timestamp")))
    return replicas.PodMetric(total, stamp, _duration(str(item.get("window") or "0s")))


class ApiSource:
    """PodMetrics from the API server's metrics.k8s.io/v1beta1."""

    def __init__(self, client: rest.Client) -> None:
        self._client = client
        self._rt = client.resource("metrics.k8s.io/v1beta1", "PodMetrics")

    async def pod_metrics(self, namespace: str, selector: str, resource: str,
                          container: str = "") -> dict[str, replicas.PodMetric]:
        try:
            listed = await self._client.list(self._rt, namespace, label_selector=selector)
        except errors.APIError as e:
            raise replicas.MetricsError(f"unable to get metrics for resource {resource}: "
                                        f"unable to fetch metrics from resource metrics API: "
                                        f"{e}") from e
        out = {}
        for item in listed.get("items") or []:
            found = pod_metric(item, resource, container)
            if found is not None:
                out[item["metadata"]["name"]] = found
        return out
