"""ConfigMaps, Secrets, PersistentVolumeClaims and PersistentVolumes as pods reference them
(env, volumes), read through the API."""

from __future__ import annotations

import base64
from typing import Any

from kubelite.api import errors
from kubelite.client import rest

Obj = dict[str, Any]


class Missing(LookupError):
    """A referenced ConfigMap, Secret, claim, volume or key does not exist (yet), or is not
    usable yet (an unbound claim)."""


class Objects:
    def __init__(self, client: rest.Client) -> None:
        self.client = client
        self._cm = client.resource("v1", "ConfigMap")
        self._secret = client.resource("v1", "Secret")
        self._claim = client.resource("v1", "PersistentVolumeClaim")
        self._volume = client.resource("v1", "PersistentVolume")

    async def _get(self, rt: Any, namespace: str, name: str) -> Obj | None:
        try:
            return await self.client.get(rt, name, namespace)
        except errors.APIError as e:
            if errors.is_not_found(e):
                return None
            raise

    async def claim(self, namespace: str, name: str) -> Obj | None:
        """The PersistentVolumeClaim; None when it does not exist."""
        return await self._get(self._claim, namespace, name)

    async def volume(self, name: str) -> Obj | None:
        """The PersistentVolume; None when it does not exist."""
        return await self._get(self._volume, "", name)

    async def data(self, kind: str, namespace: str, name: str) -> dict[str, bytes] | None:
        """The decoded data of a ConfigMap or Secret; None when it does not exist."""
        obj = await self._get(self._cm if kind == "configMap" else self._secret, namespace, name)
        if obj is None:
            return None
        if kind == "configMap":
            out = {k: v.encode() for k, v in (obj.get("data") or {}).items()}
            out.update({k: base64.b64decode(v) for k, v in (obj.get("binaryData") or {}).items()})
            return out
        return {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}


def describe(kind: str, namespace: str, name: str) -> str:
    return f'{"configmap" if kind == "configMap" else "secret"} "{name}" not found'
