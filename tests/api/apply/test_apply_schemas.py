"""Apply against custom-resource schemas, no schema at all, and core/v1 kinds."""

import pytest
from tests.api.apply.apply_builders import T1, entries, fields, ssa, stored, update

from kubelite.api import errors, schemas

CRD_SCHEMA = {
    "type": "object",
    "properties": {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {
            "type": "object",
            "properties": {
                "size": {"type": "integer"},
                "hosts": {"type": "array", "items": {"type": "string"}},
                "tags": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                "routes": {
                    "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["path"],
                    "items": {"type": "object", "properties": {"path": {"type": "string"},
                                                               "backend": {"type": "string"}}},
                },
                "params": {"type": "object", "additionalProperties": {"type": "string"}},
                "pinned": {"type": "object", "x-kubernetes-map-type": "atomic",
                           "properties": {"a": {"type": "string"}, "b": {"type": "string"}}},
                "legacy": {"type": "array", "x-kubernetes-list-type": "map",
                           "x-kubernetes-patch-merge-key": "id",
                           "items": {"type": "object", "properties": {"id": {"type": "string"}}}},
            },
        },
    },
}


def widget(**spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default", "labels": {"app": "w"}}, "spec": spec}


def crd_ssa(live, cfg, manager="kubectl", **kw):
    return ssa(live, cfg, manager, schema=CRD_SCHEMA, api_version="example.com/v1", **kw)


def test_crd_field_set_uses_declared_list_types():
    obj = crd_ssa(None, widget(size=1, hosts=["a"], tags=["x"], routes=[{"path": "/", "backend": "b"}],
                               params={"k": "v"}, pinned={"a": "1"}, legacy=[{"id": "i"}]))
    assert fields(obj, "kubectl") == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:hosts": {},  # no list type: atomic in custom resources
            "f:legacy": {'k:{"id":"i"}': {".": {}, "f:id": {}}},  # keyed by the patch merge key
            "f:params": {"f:k": {}},
            "f:pinned": {},
            "f:routes": {'k:{"path":"/"}': {".": {}, "f:backend": {}, "f:path": {}}},
            "f:size": {},
            "f:tags": {'v:"x"': {}},
        },
    }


def test_crd_lists_merge_per_declared_type():
    live = stored(crd_ssa(None, widget(hosts=["a"], tags=["x"], routes=[{"path": "/", "backend": "b"}])))
    obj = crd_ssa(live, widget(hosts=["z"], tags=["y"], routes=[{"path": "/api", "backend": "c"}]),
                  manager="other", force=True, now=T1)
    assert obj["spec"]["hosts"] == ["z"]  # atomic by default in custom resources
    assert obj["spec"]["tags"] == ["x", "y"]
    assert obj["spec"]["routes"] == [{"path": "/", "backend": "b"}, {"path": "/api", "backend": "c"}]


def test_crd_atomic_struct_replaced_whole():
    live = stored(crd_ssa(None, widget(pinned={"a": "1", "b": "2"})))
    obj = crd_ssa(live, widget(pinned={"a": "3"}), now=T1)
    assert obj["spec"]["pinned"] == {"a": "3"}


def test_crd_update_after_create_records_dot_on_new_maps():
    obj = update(None, widget(size=1), "ctl", schema=CRD_SCHEMA, api_version="example.com/v1")
    assert fields(obj, "ctl") == {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                                  "f:spec": {".": {}, "f:size": {}}}


def test_no_schema_means_granular_maps_and_atomic_lists():
    cfg = widget(nested={"a": 1}, items=[{"x": 1}])
    obj = ssa(None, cfg, schema=None, api_version="example.com/v1")
    assert fields(obj, "kubectl") == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {".": {}, "f:items": {}, "f:nested": {".": {}, "f:a": {}}},
    }
    live = stored(obj)
    again = ssa(live, widget(nested={"b": 2}, items=[{"y": 2}]), schema=None, api_version="example.com/v1",
                now=T1)
    assert again["spec"] == {"nested": {"b": 2}, "items": [{"y": 2}]}


CONFIGMAP = schemas.definition("io.k8s.api.core.v1.ConfigMap")


def test_configmap_data_keys_and_conflict_with_core_group_version():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"},
          "data": {"k": "v"}}
    live = stored(ssa(None, cm, schema=CONFIGMAP, api_version="v1"))
    assert fields(live, "kubectl") == {"f:data": {"f:k": {}}}
    assert entries(live)["kubectl"]["apiVersion"] == "v1"
    with pytest.raises(errors.Conflict) as caught:
        ssa(live, {**cm, "data": {"k": "w"}}, "helm", schema=CONFIGMAP, api_version="v1", now=T1)
    assert caught.value.message == 'Apply failed with 1 conflict: conflict with "kubectl": .data.k'
