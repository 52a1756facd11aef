"""Node IPAM: free-range choice, and the controller's writes over a recording client."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.client import factory, rest
from kubelite.controllers import nodeipam

Obj = dict[str, Any]


@pytest.mark.parametrize("cluster,mask,used,want", [
    pytest.param("10.42.0.0/16", 24, [], "10.42.0.0/24", id="empty"),
    pytest.param("10.42.0.0/16", 24, ["10.42.0.0/24", "10.42.1.0/24"], "10.42.2.0/24", id="next"),
    pytest.param("10.42.0.0/16", 24, ["10.42.1.0/24"], "10.42.0.0/24", id="reuses-gap"),
    pytest.param("10.42.0.0/16", 24, ["10.64.0.0/24", "10.64.1.0/24"], "10.42.0.0/24",
                 id="outside-ranges-ignored"),
    pytest.param("10.42.0.0/16", 24, ["10.42.0.0/23"], "10.42.2.0/24", id="wider-range-blocks"),
    pytest.param("10.42.0.0/16", 24, ["10.42.0.7/32"], "10.42.1.0/24", id="overlap"),
    pytest.param("10.42.0.0/23", 24, ["10.42.0.0/24", "10.42.1.0/24"], None, id="exhausted"),
    pytest.param("10.42.0.0/16", 24, ["not-a-cidr", "fd00::/64"], "10.42.0.0/24",
                 id="junk-and-other-family"),
    pytest.param("10.10.0.0/16", 26, ["10.10.0.0/26"], "10.10.0.64/26", id="mask-26"),
])
def test_next_free(cluster: str, mask: int, used: list[str], want: str | None) -> None:
    assert nodeipam.next_free(cluster, mask, used) == want


class PatchClient(rest.Client):
    """Records merge patches to Nodes and applies them to a dict of nodes."""

    def __init__(self, nodes: dict[str, Obj]) -> None:
        super().__init__("https://127.0.0.1:1")
        self.nodes = copy.deepcopy(nodes)    # the server's copy, apart from the cache
        self.patches: list[tuple[str, Obj]] = []

    async def patch(self, rt: Any, name: str, patch: Any, **_: Any) -> Obj:
        if name not in self.nodes:
            raise errors.NotFound(rt.group, rt.plural, name)
        self.patches.append((name, patch))
        self.nodes[name]["spec"].update(patch["spec"])
        return copy.deepcopy(self.nodes[name])


def node(name: str, cidr: str = "") -> Obj:
    spec = {"podCIDR": cidr, "podCIDRs": [cidr]} if cidr else {}
    return {"metadata": {"name": name, "resourceVersion": "1"}, "spec": spec}


def make(*nodes: Obj) -> tuple[nodeipam.NodeIPAMController, PatchClient]:
    client = PatchClient({n["metadata"]["name"]: n for n in nodes})
    c = nodeipam.NodeIPAMController(client, factory.InformerFactory(client))
    for n in nodes:
        c.nodes._upsert(n)
    return c, client


async def test_assigns_first_free_and_leaves_existing_alone() -> None:
    c, client = make(node("hollow-0", "10.64.0.0/24"), node("a", "10.42.0.0/24"), node("b"))
    for key in ("hollow-0", "a", "b"):
        await c.sync(key)
    assert client.patches == [("b", {"spec": {"podCIDR": "10.42.1.0/24",
                                              "podCIDRs": ["10.42.1.0/24"]}})]
    assert client.nodes["hollow-0"]["spec"]["podCIDR"] == "10.64.0.0/24"


async def test_pending_assignments_are_not_handed_out_twice() -> None:
    c, client = make(node("a"), node("b"))
    await c.sync("a")
    await c.sync("b")       # the cache has not seen a's write yet
    await c.sync("a")       # a retried before its write showed: same CIDR again
    assert [(n, p["spec"]["podCIDR"]) for n, p in client.patches] == [
        ("a", "10.42.0.0/24"), ("b", "10.42.1.0/24"), ("a", "10.42.0.0/24")]


async def test_idempotent_once_the_cache_shows_the_cidr() -> None:
    c, client = make(node("a"))
    await c.sync("a")
    c.nodes._upsert(copy.deepcopy(client.nodes["a"]))
    await c.sync("a")
    assert len(client.patches) == 1
    assert c._pending == {}


async def test_deleted_node_frees_its_pending_range() -> None:
    c, client = make(node("a"))
    await c.sync("a")
    c.nodes._remove(client.nodes.pop("a"))
    await c.sync("a")
    client.nodes["b"] = node("b")
    c.nodes._upsert(client.nodes["b"])
    await c.sync("b")
    assert client.patches[-1] == ("b", {"spec": {"podCIDR": "10.42.0.0/24",
                                                 "podCIDRs": ["10.42.0.0/24"]}})


def test_rejects_mask_wider_than_cluster_cidr() -> None:
    client = PatchClient({})
    with pytest.raises(ValueError):
        nodeipam.NodeIPAMController(client, factory.InformerFactory(client),
                                    cluster_cidr="10.42.0.0/16", mask_size=8)
