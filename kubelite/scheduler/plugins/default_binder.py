"""DefaultBinder: write the pod's binding through the callback the wiring supplies
(a POST of pods/<name>/binding)."""

from __future__ import annotations

from typing import Any

from kubelite.api import errors
from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import podinfo, protocol

NAME = "DefaultBinder"


class DefaultBinder:
    name = NAME

    def __init__(self, handle: handle_mod.Handle) -> None:
        self.handle = handle

    async def bind(self, state: protocol.CycleState, pod: podinfo.PodInfo, node_name: str) -> protocol.Status | None:
        if self.handle.bind is None:
            raise RuntimeError("DefaultBinder: the handle has no bind callback")
        try:
            await self.handle.bind(pod.pod, node_name)
        except (errors.APIError, OSError) as exc:
            return protocol.Status(protocol.Code.ERROR, (str(exc),), NAME)
        return None


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> DefaultBinder:
    return DefaultBinder(handle)
