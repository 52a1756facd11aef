"""Pods, claims and revisions a StatefulSet builds: names, labels, owners."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.controllers.statefulset import claims, identity, revisions

Obj = dict[str, Any]


def sts(**spec: Any) -> Obj:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "ns", "uid": "u-web"},
            "spec": {"replicas": 2, "serviceName": "nginx",
                     "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                         "containers": [{"name": "c", "image": "nginx:1"}]}},
                     "volumeClaimTemplates": [{"metadata": {"name": "www",
                                                            "labels": {"tier": "db"}},
                                               "spec": {"accessModes": ["ReadWriteOnce"]}}],
                     **spec}}


def test_pod_has_stable_identity_and_claim_volume() -> None:
    s = sts()
    rev = revisions.new(s, 1, 0)
    p = identity.new_pod(s, 1, revisions.template_of(rev), rev["metadata"]["name"])
    assert p["metadata"]["name"] == "web-1"
    assert p["metadata"]["labels"] == {
        "app": "web", "statefulset.kubernetes.io/pod-name": "web-1",
        "apps.kubernetes.io/pod-index": "1", "controller-revision-hash": rev["metadata"]["name"]}
    assert (p["spec"]["hostname"], p["spec"]["subdomain"]) == ("web-1", "nginx")
    assert p["spec"]["volumes"] == [{"name": "www",
                                     "persistentVolumeClaim": {"claimName": "www-web-1"}}]
    assert p["metadata"]["ownerReferences"][0]["uid"] == "u-web"


def test_claims_carry_template_and_selector_labels() -> None:
    [claim] = identity.claims(sts(), 0)
    assert claim["metadata"]["name"] == "www-web-0"
    assert claim["metadata"]["labels"] == {"tier": "db", "app": "web"}
    assert claim["spec"] == {"accessModes": ["ReadWriteOnce"]}


@pytest.mark.parametrize("name,want", [("web-0", ("web", 0)), ("my-db-12", ("my-db", 12)),
                                       ("web", None), ("web-x", None)],
                         ids=["simple", "dashes", "no-ordinal", "not-a-number"])
def test_parse_pod_name(name: str, want: tuple[str, int] | None) -> None:
    assert identity.parse(name) == want


def test_revision_name_hash_and_template_round_trip() -> None:
    s = sts()
    rev = revisions.new(s, 1, 0)
    digest = rev["metadata"]["labels"][revisions.HASH_LABEL]
    assert rev["metadata"]["name"] == f"web-{digest}"
    assert rev["data"]["spec"]["template"]["$patch"] == "replace"
    assert revisions.template_of(rev) == s["spec"]["template"]
    assert revisions.new(s, 5, 0)["metadata"]["name"] == rev["metadata"]["name"]
    assert revisions.new(s, 1, 1)["metadata"]["name"] != rev["metadata"]["name"]
    changed = sts(template={"metadata": {"labels": {"app": "web"}}, "spec": {
        "containers": [{"name": "c", "image": "nginx:2"}]}})
    assert not revisions.same(rev, revisions.new(changed, 2, 0))


def test_history_keeps_live_revisions_and_the_limit() -> None:
    s = sts(revisionHistoryLimit=1)
    revs = [{"metadata": {"name": f"r{i}"}, "revision": i} for i in range(1, 6)]
    got = revisions.to_truncate(s, revs, {"r5", "r2"})
    assert [r["metadata"]["name"] for r in got] == ["r1", "r3"]


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "uid": "u-pod"}}
CLAIM = {"metadata": {"name": "www-web-1", "ownerReferences": [
    {"kind": "Other", "uid": "u-other", "name": "x", "apiVersion": "v1"}]}}


@pytest.mark.parametrize("policy,condemned,want", [
    ({}, False, ["u-other"]),
    ({"whenDeleted": "Delete"}, False, ["u-other", "u-web"]),
    ({"whenScaled": "Delete"}, False, ["u-other"]),
    ({"whenScaled": "Delete"}, True, ["u-other", "u-pod"]),
    ({"whenDeleted": "Delete", "whenScaled": "Delete"}, True, ["u-other", "u-pod"]),
    ({"whenDeleted": "Delete", "whenScaled": "Delete"}, False, ["u-other", "u-web"]),
], ids=["retain", "deleted-delete", "scaled-delete-kept", "scaled-delete-condemned",
        "both-condemned", "both-kept"])
def test_claim_owners_follow_retention_policy(policy: Obj, condemned: bool,
                                              want: list[str]) -> None:
    s = sts(persistentVolumeClaimRetentionPolicy=policy)
    refs = claims.owner_refs(s, POD, CLAIM, condemned=condemned)
    assert [r["uid"] for r in refs] == want
    assert all(r.get("controller") for r in refs if r["uid"] != "u-other")
    assert claims.needs_update(CLAIM, refs) == (want != ["u-other"])


def test_claim_controlled_by_someone_else_gets_no_owner_of_ours() -> None:
    s = sts(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"})
    claim = {"metadata": {"ownerReferences": [{"uid": "u-x", "controller": True}]}}
    assert claims.owner_refs(s, POD, claim, condemned=False) == [
        {"uid": "u-x", "controller": True}]
