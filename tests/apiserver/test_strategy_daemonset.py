"""A DaemonSet's template generation (the `deprecated.daemonset.template.generation`
annotation its pods' pod-template-generation label comes from) moves with the pod template
only, while metadata.generation counts every spec change."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from kubelite.apiserver import context
from kubelite.apiserver.handlers import write
from tests.apiserver import conftest
from tests.apiserver.conftest import OPTS

Obj = dict[str, Any]
ANNOTATION = "deprecated.daemonset.template.generation"
DS = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": {
    "selector": {"matchLabels": {"app": "agent"}},
    "template": {"metadata": {"labels": {"app": "agent"}},
                 "spec": {"containers": [{"name": "a", "image": "busybox:1"}]}}}}


async def update(c: context.Context, change: Callable[[Obj], None]) -> Obj:
    return await conftest.update(c, ("apps", "v1", "daemonsets"), "agent", change)


async def test_the_template_generation_follows_the_template(ctx: context.Context) -> None:
    rt = ctx.registry.lookup("apps", "v1", "daemonsets")
    assert rt is not None
    created, _ = await write.create_object(ctx, rt, copy.deepcopy(DS), "default", OPTS)
    assert created["metadata"]["annotations"][ANNOTATION] == "1"

    def new_image(ds: Obj) -> None:
        ds["spec"]["template"]["spec"]["containers"][0]["image"] = "busybox:2"
    got = await update(ctx, new_image)
    assert (got["metadata"]["generation"], got["metadata"]["annotations"][ANNOTATION]) == (2, "2")

    def slower(ds: Obj) -> None:
        ds["spec"]["minReadySeconds"] = 5
        ds["metadata"]["annotations"].pop(ANNOTATION)   # as an applied manifest would
    got = await update(ctx, slower)
    assert (got["metadata"]["generation"], got["metadata"]["annotations"][ANNOTATION]) == (3, "2")
