"""The garbage collector's ownership graph and its per-object decisions."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.controllers.gc import decide, graph

Obj = dict[str, Any]


def ref(uid: str, *, block: bool = False, kind: str = "ConfigMap") -> Obj:
    return {"apiVersion": "v1", "kind": kind, "name": f"n-{uid}", "uid": uid,
            "blockOwnerDeletion": block}


def obj(uid: str, *owners: Obj, deleting: bool = False, finalizers: tuple[str, ...] = (),
        ns: str = "default") -> Obj:
    meta: Obj = {"name": f"n-{uid}", "uid": uid, "namespace": ns,
                 "ownerReferences": list(owners), "finalizers": list(finalizers)}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def test_dependent_of_unknown_owner_is_checked() -> None:
    g = graph.Graph()
    assert g.observe(obj("d", ref("o"))) == [("delete", "d")]


def test_dependent_of_known_owner_needs_nothing() -> None:
    g = graph.Graph()
    assert g.observe(obj("o")) == []
    assert g.observe(obj("d", ref("o"))) == []
    assert [n.uid for n in g.dependents("o")] == ["d"]


def test_owner_leaving_makes_its_dependents_checked() -> None:
    g = graph.Graph()
    g.observe(obj("o"))
    g.observe(obj("d1", ref("o")))
    g.observe(obj("d2", ref("o")))
    assert sorted(g.forget(obj("o"))) == [("delete", "d1"), ("delete", "d2")]
    # The dependents still name the owner's uid: recreating a same-named owner (new uid)
    # does not adopt them.
    assert g.has_dependents("o")


def test_foreground_deletion_checks_owner_and_every_dependent() -> None:
    g = graph.Graph()
    g.observe(obj("o"))
    g.observe(obj("d1", ref("o", block=True)))
    g.observe(obj("d2", ref("o")))
    items = g.observe(obj("o", deleting=True, finalizers=(graph.FOREGROUND,)))
    assert sorted(items) == [("delete", "d1"), ("delete", "d2"), ("delete", "o")]
    assert [n.uid for n in g.blocking_dependents("o")] == ["d1"]
    # Seeing the same state again is no new transition.
    assert g.observe(obj("o", deleting=True, finalizers=(graph.FOREGROUND,))) == []


@pytest.mark.parametrize("change", [
    pytest.param(lambda: None, id="dependent-gone"),
    pytest.param(lambda: obj("d", ref("o", block=False)), id="unblocked"),
    pytest.param(lambda: obj("d"), id="reference-removed"),
])
def test_waiting_owner_rechecked_when_a_blocker_goes(change: Any) -> None:
    g = graph.Graph()
    g.observe(obj("o", deleting=True, finalizers=(graph.FOREGROUND,)))
    g.observe(obj("d", ref("o", block=True)))
    new = change()
    items = g.forget(obj("d")) if new is None else g.observe(new)
    assert ("delete", "o") in items


def test_orphan_finalizer_asks_for_orphaning_once() -> None:
    g = graph.Graph()
    g.observe(obj("o"))
    assert g.observe(obj("o", deleting=True, finalizers=(graph.ORPHAN,))) == [("orphan", "o")]
    assert g.observe(obj("o", deleting=True, finalizers=(graph.ORPHAN,))) == []


def test_forgetting_unknown_object_is_harmless() -> None:
    assert graph.Graph().forget(obj("x")) == []


# -- decisions ---------------------------------------------------------------------------------

A, B = ref("a", block=True), ref("b")


@pytest.mark.parametrize("owners,has_deps,cycle,finalizers,want", [
    pytest.param(decide.Owners(solid=[A]), False, False, (), decide.Plan(), id="owned"),
    pytest.param(decide.Owners(solid=[A], dangling=[B]), False, False, (),
                 decide.Plan(remove_refs=frozenset({"b"})), id="drop-dangling-keep"),
    pytest.param(decide.Owners(solid=[B], waiting=[A]), False, False, (),
                 decide.Plan(remove_refs=frozenset({"a"})), id="drop-waiting-keep"),
    pytest.param(decide.Owners(dangling=[A, B]), False, False, (),
                 decide.Plan(delete_policy="Background"), id="all-gone"),
    pytest.param(decide.Owners(dangling=[A]), False, False, (graph.ORPHAN,),
                 decide.Plan(delete_policy="Orphan"), id="own-orphan-finalizer"),
    pytest.param(decide.Owners(waiting=[A]), False, False, (),
                 decide.Plan(delete_policy="Background"), id="waiting-leaf"),
    pytest.param(decide.Owners(waiting=[A]), True, False, (),
                 decide.Plan(delete_policy="Foreground"), id="waiting-with-dependents"),
    pytest.param(decide.Owners(waiting=[A, B]), True, True, (),
                 decide.Plan(unblock_refs=frozenset({"a"}), delete_policy="Foreground"),
                 id="waiting-cycle-unblocks"),
])
def test_plan(owners: decide.Owners, has_deps: bool, cycle: bool, finalizers: tuple[str, ...],
              want: decide.Plan) -> None:
    o = obj("x", finalizers=finalizers)
    assert decide.plan(o, owners, has_dependents=has_deps,
                       dependent_deletes_dependents=cycle) == want


def test_patched_refs_removes_and_unblocks() -> None:
    p = decide.Plan(remove_refs=frozenset({"b"}), unblock_refs=frozenset({"a"}))
    assert decide.patched_refs([A, B], p) == [{**A, "blockOwnerDeletion": False}]


@pytest.mark.parametrize("owner,want", [
    pytest.param(None, "dangling", id="absent"),
    pytest.param(obj("other"), "dangling", id="recreated-with-new-uid"),
    pytest.param(obj("a"), "solid", id="present"),
    pytest.param(obj("a", deleting=True), "solid", id="deleting-background"),
    pytest.param(obj("a", deleting=True, finalizers=(graph.FOREGROUND,)), "waiting",
                 id="deleting-foreground"),
])
def test_classify_owner(owner: Obj | None, want: str) -> None:
    assert decide.classify_owner(A, owner) == want
