"""CustomResourceDefinitions: turning stored CRDs into served resource types.

Follows the CRD bucket of the watch cache. For each CRD it registers one ResourceType per
served version, then reports NamesAccepted and Established in the CRD's status (clients
wait for Established before creating instances). Deleting a CRD first deletes every
instance (the customresourcecleanup finalizer), then the CRD itself.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kubelite.api import errors, registry
from kubelite.apiserver import context, selection, strategy
from kubelite.storage import protocol

log = logging.getLogger(__name__)

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
Obj = dict[str, Any]


def resource_types(crd: Obj) -> list[registry.ResourceType]:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        info = dict(v)
        info["openAPIV3Schema"] = (v.get("schema") or {}).get("openAPIV3Schema") or {}
        info["subresources"] = v.get("subresources") or {}
        info["preserveUnknownFields"] = bool(spec.get("preserveUnknownFields"))
        info["storage"] = bool(v.get("storage"))
        subs = tuple(k for k in ("status", "scale") if k in info["subresources"])
        out.append(registry.ResourceType(
            group=spec.get("group", ""), version=v["name"], kind=names.get("kind", ""),
            plural=names.get("plural", ""), namespaced=spec.get("scope") == "Namespaced",
            short_names=tuple(names.get("shortNames") or ()),
            categories=tuple(names.get("categories") or ()), subresources=subs,
            storage_version=_storage_version(spec), crd=info,
        ))
    return out


def _storage_version(spec: Obj) -> str:
    for v in spec.get("versions") or []:
        if v.get("storage"):
            return str(v["name"])
    return ""


class Registrar:
    """Keeps the registry in step with the stored CRDs."""

    def __init__(self, ctx: context.Context) -> None:
        self._ctx = ctx
        self._rt = ctx.registry.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        assert self._rt is not None
        self._served: dict[str, list[registry.ResourceType]] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        assert self._rt is not None
        self._watcher = self._ctx.cache.watch(self._rt.key_prefix(), lambda e: True, None)
        self._task = asyncio.create_task(self._run(), name="crd-registrar")

    async def stop(self) -> None:
        if self._task:
            self._watcher.stop()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            item = await self._watcher.next()
            if item is None:
                return
            kind, entry = item
            try:
                await self._handle(kind, entry.decode())
            except errors.APIError as e:
                log.warning("crd sync failed name=%s error=%s", entry.name, e)

    async def _handle(self, kind: str, crd: Obj) -> None:
        name = crd["metadata"]["name"]
        for rt in self._served.pop(name, []):
            self._ctx.registry.remove(rt.group, rt.version, rt.plural)
        if kind == "DELETED":
            return
        types = resource_types(crd)
        for rt in types:
            self._ctx.registry.add(rt, replace=True)
            if rt.storage_version in ("", rt.version):
                self._ctx.cache.set_fields_fn(rt.key_prefix(), selection.fields_fn(rt))
        self._served[name] = types
        if crd["metadata"].get("deletionTimestamp"):
            await self._cleanup(crd, types)
        elif not _established(crd) or CLEANUP_FINALIZER not in crd["metadata"].get(
                "finalizers", []):
            await self._accept(name)

    async def _accept(self, name: str) -> None:
        assert self._rt is not None

        async def mutate(crd: Obj) -> Obj | None:
            if _established(crd) and CLEANUP_FINALIZER in crd["metadata"].get("finalizers", []):
                return None
            crd["metadata"].setdefault("finalizers", [])
            if CLEANUP_FINALIZER not in crd["metadata"]["finalizers"]:
                crd["metadata"]["finalizers"].append(CLEANUP_FINALIZER)
            spec = crd.get("spec") or {}
            now = strategy.now_rfc3339()
            status = crd.setdefault("status", {})
            status["acceptedNames"] = spec.get("names") or {}
            status["storedVersions"] = sorted(set(status.get("storedVersions") or []) |
                                              {_storage_version(spec)} - {""})
            status["conditions"] = [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": now},
            ]
            return crd

        await self._ctx.objects.guaranteed_update(self._rt, "", name, mutate)

    async def _cleanup(self, crd: Obj, types: list[registry.ResourceType]) -> None:
        """Delete every instance, then release the CRD."""
        assert self._rt is not None
        if types:
            prefix = types[0].key_prefix()
            listed = await self._ctx.objects.store.list(prefix)
            for kv in listed.items:
                try:
                    await self._ctx.objects.store.delete(kv.key)
                except protocol.StoreError as e:  # already gone is fine
                    log.debug("cleanup key=%s: %s", kv.key, e)

        async def release(current: Obj) -> Obj | None:
            fins = current["metadata"].get("finalizers") or []
            if CLEANUP_FINALIZER not in fins:
                return None
            current["metadata"]["finalizers"] = [f for f in fins if f != CLEANUP_FINALIZER]
            return current

        stored = await self._ctx.objects.guaranteed_update(self._rt, "", crd["metadata"]["name"],
                                                           release)
        if not stored["metadata"].get("finalizers"):
            try:
                await self._ctx.objects.delete(self._rt, "", crd["metadata"]["name"],
                                               int(stored["metadata"]["resourceVersion"]))
            except (errors.NotFound, errors.Conflict):
                pass


def _established(crd: Obj) -> bool:
    return any(c.get("type") == "Established" and c.get("status") == "True"
               for c in (crd.get("status") or {}).get("conditions") or [])

