"""Pull images over the OCI distribution API (registry v2) into the store.

Tries each endpoint the registries config gives (mirrors first); within one endpoint:
GET the manifest with all four media types accepted, pick linux/<arch> from an index,
fetch and verify the config and every layer blob by digest, unpack the layers, commit.
Every request has connect and read timeouts, so a registry that hangs fails the pull.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

import aiohttp

from kubelite.agent.images import auth, manifests, reference, registries, store

log = logging.getLogger(__name__)


class PullError(RuntimeError):
    """The image could not be pulled from any endpoint; the message says why for each."""


class RegistryTimeout(PullError):
    """A registry did not answer within the timeout."""


class _NotHere(Exception):
    """This endpoint does not have the content (404) or failed: try the next one."""


async def pull(images: store.Store, ref_text: str, *, config: registries.Config | None = None,
               timeout: float = 30.0, arch: str | None = None) -> store.Image:
    """Pull `ref_text` (e.g. `busybox`, `127.0.0.1:5000/app:v1`) and return the stored image."""
    ref = reference.parse(ref_text)
    errors: list[str] = []
    timed_out = False
    for endpoint in (config or registries.Config()).endpoints(ref):
        try:
            return await _pull_from(images, ref, endpoint, timeout=timeout, arch=arch)
        except TimeoutError:
            timed_out = True
            errors.append(f"{endpoint.url}: timed out after {timeout}s")
        except (_NotHere, aiohttp.ClientError, auth.AuthError) as e:
            errors.append(f"{endpoint.url}: {e}")
        log.warning("pull failed image=%s endpoint=%s error=%s", ref.name, endpoint.url, errors[-1])
    cls = RegistryTimeout if timed_out else PullError
    raise cls(f"failed to pull {ref.name}: " + "; ".join(errors))


async def _pull_from(images: store.Store, ref: reference.Reference, endpoint: registries.Endpoint,
                     *, timeout: float, arch: str | None) -> store.Image:
    client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
    async with aiohttp.ClientSession(timeout=client_timeout) as session:
        repo = _Repo(session, endpoint, ref.path)
        started = time.monotonic()
        digest, manifest = await repo.manifest(ref.locator, pinned=bool(ref.digest))
        with images.staging() as stage:
            stage.add_blob_bytes(manifest[1], digest)
            doc = manifest[0]
            if manifests.media_type(doc, manifest[2]) in manifests.INDEXES:
                digest = manifests.choose_platform(doc, arch)
                doc, raw, _ = (await repo.manifest(digest, pinned=True))[1]
                stage.add_blob_bytes(raw, digest)
            image = await _fetch_image(repo, stage, doc, ref, digest)
            await asyncio.to_thread(images.commit, stage)
        log.info("pulled image=%s digest=%s bytes=%d seconds=%.2f endpoint=%s", ref.name, digest,
                 image[1], time.monotonic() - started, endpoint.url)
        return images.get(ref.name)


async def _fetch_image(repo: _Repo, stage: store.Staging, doc: dict[str, Any],
                       ref: reference.Reference, digest: str) -> tuple[str, int]:
    config_digest = doc["config"]["digest"]
    if stage.blob_path(config_digest) is None:
        stage.add_blob_bytes(await repo.blob_bytes(config_digest), config_digest)
    path = stage.blob_path(config_digest)
    assert path is not None
    with open(path, "rb") as f:  # noqa: ASYNC230 - a small local file
        diff_ids = manifests.check_image(doc, json.load(f))
    size = 0
    for layer, diff_id in zip(doc["layers"], diff_ids):
        size += int(layer.get("size", 0))
        if stage.blob_path(layer["digest"]) is None:
            await repo.blob_to_file(stage, layer["digest"], int(layer.get("size", 0)))
        await asyncio.to_thread(stage.unpack_layer, layer["digest"], diff_id)
    stage.add_image(ref.name, digest, config_digest, diff_ids, size)
    return digest, size


class _Repo:
    """One repository at one endpoint, remembering the Authorization that worked."""

    def __init__(self, session: aiohttp.ClientSession, endpoint: registries.Endpoint, path: str) -> None:
        self.session = session
        self.endpoint = endpoint
        self.path = path
        self.authz = ""

    async def manifest(self, locator: str, *, pinned: bool) -> tuple[str, tuple[dict[str, Any], bytes, str]]:
        """(digest, (document, raw bytes, content type)); the digest is checked when known."""
        resp = await self._get(f"manifests/{locator}", {"Accept": manifests.ACCEPT})
        async with resp:
            raw = await resp.read()
            ctype = resp.headers.get("Content-Type", "")
            header = resp.headers.get("Docker-Content-Digest", "")
        actual = "sha256:" + hashlib.sha256(raw).hexdigest()
        expected = locator if pinned else header
        if expected and expected != actual:
            raise store.DigestMismatch(f"manifest {locator} has digest {actual}, expected {expected}")
        doc = json.loads(raw)
        if doc.get("schemaVersion") != 2:
            raise manifests.ManifestError("only schema 2 manifests are supported")
        return actual, (doc, raw, ctype)

    async def blob_bytes(self, digest: str) -> bytes:
        resp = await self._get(f"blobs/{digest}", {})
        async with resp:
            return await resp.read()

    async def blob_to_file(self, stage: store.Staging, digest: str, size: int) -> None:
        path = stage.new_blob_file()
        log.info("pulling layer repo=%s digest=%s size=%d", self.path, digest, size)
        resp = await self._get(f"blobs/{digest}", {})
        got = 0
        async with resp:
            with open(path, "wb") as f:  # noqa: ASYNC230 - chunked writes to local disk
                async for chunk in resp.content.iter_chunked(1 << 20):
                    f.write(chunk)
                    got += len(chunk)
        log.info("pulled layer digest=%s bytes=%d", digest, got)
        stage.add_blob_file(path, digest)

    async def _get(self, tail: str, headers: dict[str, str]) -> aiohttp.ClientResponse:
        url = f"{self.endpoint.url}/v2/{self.path}/{tail}"
        for attempt in range(2):
            hdrs = dict(headers, Authorization=self.authz) if self.authz else headers
            resp = await self.session.get(url, headers=hdrs)
            if resp.status == 401 and attempt == 0 and "WWW-Authenticate" in resp.headers:
                challenge = resp.headers["WWW-Authenticate"]
                resp.release()
                self.authz = await auth.authorization(
                    self.session, challenge, f"repository:{self.path}:pull", self.endpoint.credentials)
                continue
            if resp.status == 200:
                return resp
            resp.release()
            raise _NotHere(f"GET {url} answered {resp.status}")
        raise auth.AuthError(f"GET {url}: credentials refused")
