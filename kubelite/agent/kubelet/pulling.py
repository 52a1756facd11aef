"""Making a container's image present, by imagePullPolicy, with upstream's events and
waiting reasons (ErrImagePull, then ImagePullBackOff while the back-off runs)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from kubelite.agent.images import pull, registries, store
from kubelite.agent.kubelet import backoff
from kubelite.client import events

log = logging.getLogger(__name__)
Obj = dict[str, Any]


@dataclass
class Outcome:
    ok: bool
    reason: str = ""
    message: str = ""
    retry_in: float = 0.0


def policy_of(container: Obj) -> str:
    if container.get("imagePullPolicy"):
        return str(container["imagePullPolicy"])
    image = container["image"]
    tag = image.rsplit("/", 1)[-1]
    return "Always" if "@" not in image and (":" not in tag or tag.endswith(":latest")) else "IfNotPresent"


def _present(images: store.Store, ref: str) -> bool:
    try:
        images.get(ref)
    except (store.ImageNotFound, ValueError):
        return False
    return True


@dataclass
class Puller:
    images: store.Store
    config: registries.Config
    backoff: backoff.BackOff
    recorder: events.Recorder

    async def ensure(self, pod: Obj, container: Obj, key: str, failed_at: float) -> Outcome:
        """Pull if the policy says so; `failed_at` is when the last pull of `key` failed."""
        image, policy = container["image"], policy_of(container)
        present = _present(self.images, image)
        if policy == "Never":
            if present:
                return Outcome(True)
            msg = f'Container image "{image}" is not present with pull policy of Never'
            self.recorder.event(pod, "Warning", "ErrImageNeverPull", msg)
            return Outcome(False, "ErrImageNeverPull", msg)
        if policy == "IfNotPresent" and present:
            self.recorder.event(pod, "Normal", "Pulled",
                                f'Container image "{image}" already present on machine')
            return Outcome(True)
        now = time.time()
        if failed_at and self.backoff.in_backoff_since(key, failed_at, now):
            msg = f'Back-off pulling image "{image}"'
            self.recorder.event(pod, "Normal", "BackOff", msg)
            return Outcome(False, "ImagePullBackOff", msg,
                           failed_at + self.backoff.get(key) - now)
        return await self._pull(pod, image, key)

    async def _pull(self, pod: Obj, image: str, key: str) -> Outcome:
        self.recorder.event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        started = time.monotonic()
        try:
            await pull.pull(self.images, image, config=self.config)
        except (pull.PullError, ValueError, OSError, LookupError) as e:
            delay = self.backoff.next(key, time.time())
            self.recorder.event(pod, "Warning", "Failed", f'Failed to pull image "{image}": {e}')
            self.recorder.event(pod, "Warning", "Failed", "Error: ErrImagePull")
            return Outcome(False, "ErrImagePull", str(e), delay)
        self.backoff.reset(key)
        self.recorder.event(pod, "Normal", "Pulled", f'Successfully pulled image "{image}" in '
                            f'{time.monotonic() - started:.3f}s')
        return Outcome(True)
