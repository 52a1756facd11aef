"""The agent advertises its local-path root on its Node, created or adopted."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.agent.kubelet import node
from kubelite.api import errors

Obj = dict[str, Any]


class FakeClient:
    """Just enough of rest.Client for registration: one Node, merge patches recorded."""

    def __init__(self, existing: Obj | None) -> None:
        self.node = existing
        self.patches: list[tuple[Any, str]] = []

    def resource(self, version: str, kind: str) -> str:
        return kind

    async def create(self, rt: str, obj: Obj) -> Obj:
        if self.node is not None:
            raise errors.AlreadyExists("", "nodes", obj["metadata"]["name"])
        self.node = obj
        return obj

    async def get(self, rt: str, name: str) -> Obj:
        assert self.node is not None
        return self.node

    async def patch(self, rt: str, name: str, body: Obj, **kw: Any) -> Obj:
        assert self.node is not None
        self.patches.append((body, kw.get("subresource", "")))
        if "metadata" in body:
            anns = self.node["metadata"].setdefault("annotations", {})
            anns.update(body["metadata"]["annotations"])
        return self.node


@pytest.mark.parametrize("existing", [
    None,
    {"metadata": {"name": "n1", "annotations": {"other": "kept"}}, "status": {}},
    {"metadata": {"name": "n1", "annotations": {node.LOCAL_PATH_ROOT: "/old/storage"}},
     "status": {}},
], ids=["created", "adopted", "adopted-moved-root"])
async def test_registration_advertises_the_local_path_root(existing: Obj | None) -> None:
    client = FakeClient(existing)
    mgr = node.NodeManager(client, node.NodeConfig(  # type: ignore[arg-type]
        name="n1", runc_binary="sh", local_path_root="/data/agent/storage"), recorder=None)  # type: ignore[arg-type]
    mgr.problem = ""
    await mgr.register()
    assert client.node is not None
    anns = client.node["metadata"]["annotations"]
    assert anns[node.LOCAL_PATH_ROOT] == "/data/agent/storage"
    if existing and "other" in existing["metadata"]["annotations"]:
        assert anns["other"] == "kept"


async def test_adopting_a_node_already_advertising_writes_no_metadata() -> None:
    existing = {"metadata": {"name": "n1", "annotations": {
        node.LOCAL_PATH_ROOT: "/data/agent/storage", "node.alpha.kubernetes.io/ttl": "0"}},
        "status": {}}
    client = FakeClient(existing)
    mgr = node.NodeManager(client, node.NodeConfig(  # type: ignore[arg-type]
        name="n1", runc_binary="sh", local_path_root="/data/agent/storage"), recorder=None)  # type: ignore[arg-type]
    mgr.problem = ""
    await mgr.register()
    assert [sub for _, sub in client.patches] == ["status"]
