"""The image store as the runtime sees it: a reference in, layer dirs and config out."""

from __future__ import annotations

from kubelite.agent.images import store
from kubelite.agent.runtime import protocol


class StoreSource:
    """protocol.ImageSource over a Store: resolves local images only (the kubelet pulls)."""

    def __init__(self, images: store.Store) -> None:
        self.store = images

    def image_info(self, ref: str) -> protocol.ImageInfo:
        try:
            image = self.store.get(ref)
        except store.ImageNotFound as e:
            raise protocol.NotFound(str(e)) from None
        return protocol.ImageInfo(ref=image.name, id=image.id, layers=tuple(self.store.layer_dirs(image)),
                                  config=self.store.config(image))
