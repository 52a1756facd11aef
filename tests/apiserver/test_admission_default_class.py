"""The default IngressClass and StorageClass filled in on create, through the real write
pipeline over SQLite (upstream's DefaultIngressClass and DefaultStorageClass)."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import pytest

from kubelite.apiserver import context, strategy
from kubelite.apiserver.handlers import write
from tests.apiserver import conftest
from tests.apiserver.conftest import OPTS

Obj = dict[str, Any]
INGRESS_DEFAULT = "ingressclass.kubernetes.io/is-default-class"
STORAGE_DEFAULT = "storageclass.kubernetes.io/is-default-class"
STORAGE_DEFAULT_BETA = "storageclass.beta.kubernetes.io/is-default-class"


@pytest.fixture(autouse=True)
def one_second_per_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every write a second after the one before: "newest" is then well defined."""
    seconds = itertools.count(1)

    def tick() -> str:
        n = next(seconds)
        return f"2026-01-01T00:{n // 60:02d}:{n % 60:02d}Z"
    monkeypatch.setattr(strategy, "now_rfc3339", tick)


async def create(c: context.Context, resource: tuple[str, str, str], obj: Obj) -> Obj:
    rt = c.registry.lookup(*resource)
    assert rt is not None
    stored, _ = await write.create_object(c, rt, copy.deepcopy(obj),
                                          "default" if rt.namespaced else "", OPTS)
    return stored


INGRESS_CLASSES = ("networking.k8s.io", "v1", "ingressclasses")
INGRESSES = ("networking.k8s.io", "v1", "ingresses")
STORAGE_CLASSES = ("storage.k8s.io", "v1", "storageclasses")
CLAIMS = ("", "v1", "persistentvolumeclaims")


def ingress_class(name: str, default: bool) -> Obj:
    meta: Obj = {"name": name}
    if default:
        meta["annotations"] = {INGRESS_DEFAULT: "true"}
    return {"metadata": meta, "spec": {"controller": "example.com/ingress"}}


def storage_class(name: str, annotation: str | None) -> Obj:
    meta: Obj = {"name": name}
    if annotation:
        meta["annotations"] = {annotation: "true"}
    return {"metadata": meta, "provisioner": "example.com/disk"}


def ingress(name: str, **extra: Any) -> Obj:
    meta: Obj = {"name": name, **extra.pop("meta", {})}
    return {"metadata": meta, "spec": {"defaultBackend": {"service": {
        "name": "web", "port": {"number": 80}}}, **extra}}


def claim(name: str, **spec: Any) -> Obj:
    return {"metadata": {"name": name}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}, **spec}}


async def test_an_ingress_without_a_class_gets_the_newest_default(ctx: context.Context) -> None:
    await create(ctx, INGRESS_CLASSES, ingress_class("plain", default=False))
    await create(ctx, INGRESS_CLASSES, ingress_class("older", default=True))
    await create(ctx, INGRESS_CLASSES, ingress_class("newer", default=True))
    got = await create(ctx, INGRESSES, ingress("web"))
    assert got["spec"]["ingressClassName"] == "newer"


@pytest.mark.parametrize(("extra", "want"), [
    ({"ingressClassName": "plain"}, "plain"),
    ({"meta": {"annotations": {"kubernetes.io/ingress.class": "plain"}}}, None),
], ids=["field", "legacy-annotation"])
async def test_an_ingress_that_names_a_class_keeps_it(ctx: context.Context, extra: Obj,
                                                      want: str | None) -> None:
    await create(ctx, INGRESS_CLASSES, ingress_class("main", default=True))
    got = await create(ctx, INGRESSES, ingress("web", **extra))
    assert got["spec"].get("ingressClassName") == want


async def test_no_default_class_sets_nothing(ctx: context.Context) -> None:
    await create(ctx, INGRESS_CLASSES, ingress_class("plain", default=False))
    await create(ctx, STORAGE_CLASSES, storage_class("disk", None))
    assert "ingressClassName" not in (await create(ctx, INGRESSES, ingress("web")))["spec"]
    assert "storageClassName" not in (await create(ctx, CLAIMS, claim("data")))["spec"]


@pytest.mark.parametrize("annotation", [STORAGE_DEFAULT, STORAGE_DEFAULT_BETA])
async def test_a_claim_without_a_class_gets_the_default(ctx: context.Context,
                                                        annotation: str) -> None:
    await create(ctx, STORAGE_CLASSES, storage_class("slow", None))
    await create(ctx, STORAGE_CLASSES, storage_class("fast", annotation))
    assert (await create(ctx, CLAIMS, claim("data")))["spec"]["storageClassName"] == "fast"
    null = await create(ctx, CLAIMS, claim("null", storageClassName=None))
    assert null["spec"]["storageClassName"] == "fast"


async def test_an_empty_class_name_asks_for_no_class(ctx: context.Context) -> None:
    await create(ctx, STORAGE_CLASSES, storage_class("fast", STORAGE_DEFAULT))
    got = await create(ctx, CLAIMS, claim("static", storageClassName=""))
    assert got["spec"]["storageClassName"] == ""
    named = await create(ctx, CLAIMS, claim("named", storageClassName="slow"))
    assert named["spec"]["storageClassName"] == "slow"


async def test_an_existing_ingress_is_left_alone_on_update(ctx: context.Context) -> None:
    await create(ctx, INGRESSES, ingress("web"))
    await create(ctx, INGRESS_CLASSES, ingress_class("main", default=True))
    stored = await conftest.update(ctx, INGRESSES, "web", lambda new: new["metadata"].update(
        labels={"touched": "yes"}))
    assert stored["metadata"]["labels"] == {"touched": "yes"}
    assert "ingressClassName" not in stored["spec"]
