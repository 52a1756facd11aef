"""Server-side apply on a Deployment: ownership, pruning, conflicts, list merge types."""

import copy

import pytest
from tests.api.apply.apply_builders import T0, T1, T2, containers, deployment, entries, fields, ssa, stored, update

from kubelite.api import errors

KUBECTL_SSA_FIELDS = {
    "f:spec": {
        "f:replicas": {},
        "f:selector": {},
        "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {'k:{"name":"nginx"}': {".": {}, "f:image": {}, "f:name": {}}}},
        },
    },
}


def test_create_via_apply_records_upstream_entry():
    obj = ssa(None, deployment(), now="2024-05-01T10:00:00.123456Z")
    assert obj["metadata"]["managedFields"] == [{
        "manager": "kubectl", "operation": "Apply", "apiVersion": "apps/v1",
        "time": "2024-05-01T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": KUBECTL_SSA_FIELDS,
    }]
    assert obj["spec"]["replicas"] == 3 and containers(obj)[0]["image"] == "nginx:1.25"


def test_reapply_changed_field_only_moves_that_value():
    live = stored(ssa(None, deployment()))
    obj = ssa(live, deployment(image="nginx:1.26"), now=T1)
    assert containers(obj)[0]["image"] == "nginx:1.26"
    assert obj["spec"]["replicas"] == 3
    assert fields(obj, "kubectl") == KUBECTL_SSA_FIELDS
    assert entries(obj)["kubectl"]["time"] == T1
    assert obj["metadata"]["uid"] == "u-1"  # server-set metadata survives


def test_noop_reapply_keeps_time():
    live = stored(ssa(None, deployment()))
    obj = ssa(live, deployment(), now=T1)
    assert entries(obj)["kubectl"]["time"] == T0
    assert obj == live


def test_reapply_dropping_field_removes_it():
    live = stored(ssa(None, deployment(labels={"app": "nginx", "tier": "web"})))
    obj = ssa(live, deployment(labels={"app": "nginx"}, replicas=None), now=T1)
    assert obj["metadata"]["labels"] == {"app": "nginx"}
    assert "replicas" not in obj["spec"]
    assert "f:replicas" not in fields(obj, "kubectl")["f:spec"]
    assert fields(obj, "kubectl")["f:metadata"] == {"f:labels": {"f:app": {}}}


def test_dropped_field_owned_by_another_manager_stays():
    live = stored(ssa(None, deployment(labels={"tier": "web"})))
    live = ssa(live, deployment(labels={"tier": "web"}), manager="other", now=T1)
    obj = ssa(live, deployment(), now=T2)
    assert obj["metadata"]["labels"] == {"tier": "web"}
    assert "f:labels" not in fields(obj, "kubectl").get("f:metadata", {})
    assert fields(obj, "other")["f:metadata"] == {"f:labels": {"f:tier": {}}}


def test_dropping_last_owned_struct_field_removes_the_struct():
    cfg = deployment()
    cfg["spec"]["strategy"] = {"type": "RollingUpdate"}
    live = stored(ssa(None, cfg))
    live["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": "25%"}  # defaulted, owned by no one
    obj = ssa(live, deployment(), now=T1)
    assert "strategy" not in obj["spec"]


def test_dropping_container_removes_the_item():
    two = deployment(containers=[{"name": "nginx", "image": "a"}, {"name": "side", "image": "b"}])
    live = stored(ssa(None, two))
    obj = ssa(live, deployment(containers=[{"name": "nginx", "image": "a"}]), now=T1)
    assert [c["name"] for c in containers(obj)] == ["nginx"]


@pytest.mark.parametrize(("first", "who"), [
    pytest.param("Apply", '"kubectl"', id="applier"),
    pytest.param("Update", '"kubectl-client-side-apply" using apps/v1', id="updater"),
])
def test_conflict_on_replicas(first, who):
    if first == "Apply":
        live = stored(ssa(None, deployment(replicas=3), manager="kubectl"))
    else:
        live = stored(update(None, deployment(replicas=3), "kubectl-client-side-apply", now=T0))
    with pytest.raises(errors.Conflict) as caught:
        ssa(live, deployment(replicas=5), manager="helm", now=T1)
    err = caught.value
    assert err.status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"Apply failed with 1 conflict: conflict with {who}: .spec.replicas",
        "reason": "Conflict", "code": 409,
        "details": {"causes": [{"reason": "FieldManagerConflict", "message": f"conflict with {who}",
                                "field": ".spec.replicas"}]},
    }


def test_conflicts_listed_per_manager():
    live = stored(ssa(None, deployment(replicas=3)))
    with pytest.raises(errors.Conflict) as caught:
        ssa(live, deployment(replicas=5, image="x"), manager="helm", now=T1)
    assert caught.value.message == (
        'Apply failed with 2 conflicts: conflicts with "kubectl":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="nginx"].image')
    assert [c.field for c in caught.value.causes] == [
        ".spec.replicas", '.spec.template.spec.containers[name="nginx"].image']


def test_same_value_is_shared_without_conflict():
    live = stored(ssa(None, deployment(replicas=3)))
    obj = ssa(live, deployment(replicas=3), manager="helm", now=T1)
    assert "f:replicas" in fields(obj, "kubectl")["f:spec"]
    assert "f:replicas" in fields(obj, "helm")["f:spec"]


def test_force_takes_ownership():
    live = stored(ssa(None, deployment(replicas=3)))
    obj = ssa(live, deployment(replicas=5), manager="helm", force=True, now=T1)
    assert obj["spec"]["replicas"] == 5
    assert "f:replicas" not in fields(obj, "kubectl")["f:spec"]
    assert "f:replicas" in fields(obj, "helm")["f:spec"]
    assert "f:selector" in fields(obj, "kubectl")["f:spec"]  # unchanged shared fields stay


def test_containers_merge_by_name():
    live = stored(ssa(None, deployment(containers=[{"name": "nginx", "image": "a"}])))
    side = deployment(replicas=None, containers=[{"name": "side", "image": "b"}])
    obj = ssa(live, side, manager="injector", now=T1)
    assert containers(obj) == [{"name": "nginx", "image": "a"}, {"name": "side", "image": "b"}]
    owned = fields(obj, "injector")["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert list(owned) == ['k:{"name":"side"}']


def test_container_item_fields_merge_granularly():
    live = stored(ssa(None, deployment()))
    env = deployment(replicas=None, containers=[{"name": "nginx", "env": [{"name": "A", "value": "1"}]}])
    obj = ssa(live, env, manager="env-injector", now=T1)
    assert containers(obj) == [{"name": "nginx", "image": "nginx:1.25", "env": [{"name": "A", "value": "1"}]}]


def test_ports_keyed_by_port_and_protocol():
    both = [{"name": "dns", "image": "d", "ports": [{"containerPort": 53}, {"containerPort": 53, "protocol": "UDP"}]}]
    obj = ssa(None, deployment(containers=both))
    item = fields(obj, "kubectl")["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"dns"}']
    assert item["f:ports"] == {
        'k:{"containerPort":53,"protocol":"TCP"}': {".": {}, "f:containerPort": {}},
        'k:{"containerPort":53,"protocol":"UDP"}': {".": {}, "f:containerPort": {}, "f:protocol": {}},
    }
    assert len(containers(obj)[0]["ports"]) == 2


def test_list_order_follows_config_and_keeps_foreign_items_in_place():
    live = stored(ssa(None, deployment(containers=[{"name": n, "image": n} for n in "axb"])))
    live = ssa(live, deployment(containers=[{"name": "x", "image": "x"}]), manager="m2", now=T1)
    obj = ssa(live, deployment(containers=[{"name": n, "image": n} for n in "bac"]), now=T2)
    assert [c["name"] for c in containers(obj)] == ["x", "b", "a", "c"]


def _finalized(*names):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "finalizers": list(names)}}


def test_set_list_finalizers_union_and_prune():
    live = stored(ssa(None, deployment()))
    live = stored(ssa(live, _finalized("a/one"), manager="ctrl-a", now=T1))
    live = stored(ssa(live, _finalized("b/two"), manager="ctrl-b", now=T1))
    assert live["metadata"]["finalizers"] == ["a/one", "b/two"]
    assert fields(live, "ctrl-a") == {"f:metadata": {"f:finalizers": {'v:"a/one"': {}}}}
    obj = ssa(live, _finalized(), manager="ctrl-a", now=T2)
    assert obj["metadata"]["finalizers"] == ["b/two"]
    assert "ctrl-a" not in entries(obj)


def test_atomic_list_replaced_whole_and_owned_as_leaf():
    cfg = deployment(containers=[{"name": "nginx", "image": "i", "args": ["a", "b"]}])
    live = stored(ssa(None, cfg))
    item = fields(live, "kubectl")["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert item["f:args"] == {}
    other = deployment(replicas=None, containers=[{"name": "nginx", "args": ["c"]}])
    with pytest.raises(errors.Conflict) as caught:
        ssa(live, other, manager="m2", now=T1)
    assert caught.value.causes[0].field == '.spec.template.spec.containers[name="nginx"].args'
    obj = ssa(live, other, manager="m2", force=True, now=T1)
    assert containers(obj)[0]["args"] == ["c"]


def test_atomic_map_selector_replaced_whole():
    live = stored(ssa(None, deployment()))
    cfg = deployment()
    cfg["spec"]["selector"] = {"matchLabels": {"tier": "web"}}
    obj = ssa(live, cfg, now=T1)
    assert obj["spec"]["selector"] == {"matchLabels": {"tier": "web"}}


def test_client_side_update_after_apply_shares_ownership():
    live = stored(ssa(None, deployment(replicas=3)))
    scaled = copy.deepcopy(live)
    scaled["spec"]["replicas"] = 7
    scaled["metadata"].setdefault("labels", {})["edited"] = "yes"
    live = stored(update(live, scaled, "kubectl-edit", now=T1))
    assert fields(live, "kubectl-edit") == {
        "f:metadata": {"f:labels": {".": {}, "f:edited": {}}}, "f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields(live, "kubectl")["f:spec"]
    assert "f:template" in fields(live, "kubectl")["f:spec"]
    # the applier re-applies its old value: now it conflicts with the editor
    with pytest.raises(errors.Conflict) as caught:
        ssa(live, deployment(replicas=3), now=T2)
    assert caught.value.causes[0].message == 'conflict with "kubectl-edit" using apps/v1'
    # applying without replicas leaves the editor's value alone
    obj = ssa(live, deployment(replicas=None), now=T2)
    assert obj["spec"]["replicas"] == 7 and obj["metadata"]["labels"] == {"edited": "yes"}


def test_first_apply_on_untracked_object_credits_existing_fields():
    live = stored(deployment(replicas=2))
    obj = ssa(live, deployment(replicas=None, image="nginx:1.25"), now=T1)
    before = entries(obj)["before-first-apply"]
    assert before["operation"] == "Update" and before["time"] == T1
    assert "f:replicas" in before["fieldsV1"]["f:spec"]
    assert obj["spec"]["replicas"] == 2


def test_status_is_not_owned_through_main_resource():
    cfg = deployment()
    cfg["status"] = {"replicas": 3}
    obj = ssa(None, cfg)
    assert "f:status" not in fields(obj, "kubectl")


def test_status_subresource_apply_owns_only_status():
    live = stored(ssa(None, deployment()))
    cfg = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
           "status": {"replicas": 3}}
    obj = ssa(live, cfg, manager="ctrl", subresource="status", now=T1)
    entry = entries(obj)["ctrl"]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:replicas": {}}}
    assert obj["status"] == {"replicas": 3}


@pytest.mark.parametrize(("cfg", "message"), [
    pytest.param({**deployment(), "apiVersion": "apps/v1beta1"},
                 "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, "
                 "expected: apps/v1", id="version"),
    pytest.param({**deployment(), "metadata": {"name": "web", "managedFields": []}},
                 "metadata.managedFields must be nil", id="managed-fields"),
])
def test_bad_apply_requests(cfg, message):
    with pytest.raises(errors.BadRequest) as caught:
        ssa(None, cfg)
    assert caught.value.message == message


def test_list_item_without_key_is_rejected_like_upstream():
    with pytest.raises(errors.APIError) as caught:
        ssa(None, deployment(containers=[{"image": "x"}]))
    assert caught.value.code == 500
    assert caught.value.message == (
        "failed to create typed patch object (default/web; apps/v1, Kind=Deployment): "
        ".spec.template.spec.containers: element 0: associative list with keys has an element "
        'that omits all key fields ["name"] (and doesn\'t have default values for any key fields)')


def test_config_without_metadata_keeps_object_identity():
    live = stored(ssa(None, deployment(labels={"a": "b"})))
    cfg = {"apiVersion": "apps/v1", "kind": "Deployment", "spec": deployment()["spec"]}
    obj = ssa(live, cfg, now=T1)
    assert obj["metadata"]["name"] == "web" and obj["metadata"]["uid"] == "u-1"
    assert "labels" not in obj["metadata"]
