"""managedFields for ordinary create/update/patch requests (operation Update)."""

import copy

import pytest
from tests.api.apply.apply_builders import T0, T1, T2, containers, deployment, entries, fields, ssa, stored, update

from kubelite.api import schemas

KUBECTL_CREATE_FIELDS = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:selector": {},
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}}, "f:type": {}},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {'k:{"name":"nginx"}': {
                    ".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {".": {}, 'k:{"containerPort":80,"protocol":"TCP"}': {
                        ".": {}, "f:containerPort": {}, "f:protocol": {}}},
                    "f:resources": {},
                }},
                "f:securityContext": {},
            },
        },
    },
}


def _created():
    obj = deployment(labels={"app": "nginx"}, containers=[{
        "name": "nginx", "image": "nginx", "resources": {},
        "ports": [{"containerPort": 80, "protocol": "TCP"}]}])
    obj["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%"}}
    obj["spec"]["template"]["spec"]["securityContext"] = {}
    return obj


def test_create_records_everything_set_like_upstream():
    obj = update(None, _created(), "kubectl-create", now=T0)
    assert obj["metadata"]["managedFields"] == [{
        "manager": "kubectl-create", "operation": "Update", "apiVersion": "apps/v1", "time": T0,
        "fieldsType": "FieldsV1", "fieldsV1": KUBECTL_CREATE_FIELDS}]


def test_update_takes_changed_fields_from_other_managers():
    live = stored(update(None, deployment(), "kubectl-create", now=T0))
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 9
    obj = update(live, new, "kubectl-scale", now=T1)
    assert fields(obj, "kubectl-scale") == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields(obj, "kubectl-create")["f:spec"]
    assert [e["manager"] for e in obj["metadata"]["managedFields"]] == ["kubectl-create", "kubectl-scale"]


def test_same_manager_entries_merge_and_time_moves():
    live = stored(update(None, deployment(), "ctl", now=T0))
    new = copy.deepcopy(live)
    new["metadata"]["labels"] = {"x": "1"}
    obj = update(live, new, "ctl", now=T1)
    assert len(obj["metadata"]["managedFields"]) == 1
    assert entries(obj)["ctl"]["time"] == T1
    assert "f:labels" in fields(obj, "ctl")["f:metadata"]


def test_update_changing_nothing_for_manager_keeps_entry_untouched():
    live = stored(update(None, deployment(), "ctl", now=T0))
    obj = update(live, copy.deepcopy(live), "other", now=T1)
    assert obj["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_removed_fields_leave_every_set():
    live = stored(update(None, deployment(labels={"a": "1", "b": "2"}), "ctl", now=T0))
    new = copy.deepcopy(live)
    del new["metadata"]["labels"]["b"]
    obj = update(live, new, "editor", now=T1)
    assert fields(obj, "ctl")["f:metadata"]["f:labels"] == {".": {}, "f:a": {}}
    assert "editor" not in entries(obj)


def test_server_set_metadata_never_tracked():
    obj = update(None, stored(deployment()), "ctl", now=T0)
    assert set(fields(obj, "ctl")) == {"f:spec"}


def test_request_managed_fields_reset_with_empty_list():
    live = stored(update(None, deployment(), "ctl", now=T0))
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = []
    obj = update(live, new, "ctl", now=T1)
    assert "managedFields" not in obj["metadata"]
    again = update(stored(obj), stored(obj), "ctl", now=T2)  # stays off, as upstream
    assert "managedFields" not in again["metadata"]


def test_request_managed_fields_replace_stored_ones():
    live = stored(update(None, deployment(), "ctl", now=T0))
    new = copy.deepcopy(live)
    new["metadata"]["managedFields"] = [{"manager": "restored", "operation": "Update", "apiVersion": "apps/v1",
                                         "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:paused": {}}}}]
    obj = update(live, new, "ctl", now=T1)
    assert set(entries(obj)) == {"restored"}


def test_status_subresource_tracks_status_only():
    live = stored(update(None, deployment(), "ctl", now=T0))
    new = copy.deepcopy(live)
    new["status"] = {"replicas": 3, "conditions": [{"type": "Available", "status": "True"}]}
    new["spec"]["replicas"] = 4  # ignored by the status strategy upstream; not credited here
    obj = update(live, new, "kube-controller-manager", now=T1, subresource="status")
    entry = entries(obj)["kube-controller-manager"]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:conditions": {
        ".": {}, 'k:{"type":"Available"}': {".": {}, "f:status": {}, "f:type": {}}}, "f:replicas": {}}}


def test_main_resource_update_ignores_status():
    new = deployment()
    new["status"] = {"replicas": 1}
    obj = update(None, new, "ctl", now=T0)
    assert "f:status" not in fields(obj, "ctl")


def test_at_most_ten_update_managers():
    live = stored(update(None, deployment(), "m00", now="2024-05-01T10:00:00Z"))
    for i in range(1, 12):
        new = copy.deepcopy(live)
        new["metadata"]["labels"] = {**new["metadata"].get("labels", {}), f"l{i}": "x"}
        live = stored(update(live, new, f"m{i:02d}", now=f"2024-05-01T10:{i:02d}:00Z"))
    names = [e["manager"] for e in live["metadata"]["managedFields"]]
    assert len(names) == 10 and "ancient-changes" in names
    assert "m00" not in names and "m11" in names


def test_entries_sorted_apply_first_then_time():
    live = stored(update(None, deployment(), "zeta", now=T0))
    live = stored(ssa(live, deployment(replicas=None, labels={"a": "b"}), manager="alpha", now=T1))
    new = copy.deepcopy(live)
    new["spec"]["paused"] = True
    obj = update(live, new, "beta", now=T2)
    assert [(e["manager"], e["operation"]) for e in obj["metadata"]["managedFields"]] == [
        ("alpha", "Apply"), ("zeta", "Update"), ("beta", "Update")]


def test_invalid_list_keeps_previous_managed_fields():
    live = stored(update(None, deployment(), "ctl", now=T0))
    new = copy.deepcopy(live)
    containers(new).append({"image": "no-name"})
    obj = update(live, new, "other", now=T1)
    assert obj["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_operation_must_be_update():
    from kubelite.api import apply
    with pytest.raises(ValueError):
        apply.track_update(None, deployment(), manager="x", operation="Apply", api_version="apps/v1",
                           now=T0, schema=schemas.definition("io.k8s.api.apps.v1.Deployment"))
