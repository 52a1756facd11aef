"""FieldsV1 encoding of field sets, as upstream writes metadata.managedFields."""

import pytest

from kubelite.api.apply import fieldset as fs

P = fs.make_path


@pytest.mark.parametrize(("paths", "wire"), [
    pytest.param({P("spec", "replicas")}, {"f:spec": {"f:replicas": {}}}, id="leaf"),
    pytest.param({P("metadata", "labels"), P("metadata", "labels", "app")},
                 {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}, id="owned-parent-gets-dot"),
    pytest.param({P("spec", "containers", fs.key({"name": "nginx"})),
                  P("spec", "containers", fs.key({"name": "nginx"}), "image")},
                 {"f:spec": {"f:containers": {'k:{"name":"nginx"}': {".": {}, "f:image": {}}}}},
                 id="list-map-item"),
    pytest.param({P("ports", fs.key({"protocol": "TCP", "containerPort": 80}))},
                 {"f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {}}}, id="keys-sorted-by-name"),
    pytest.param({P("metadata", "finalizers", fs.value("a/b"))},
                 {"f:metadata": {"f:finalizers": {'v:"a/b"': {}}}}, id="set-item"),
    pytest.param({P("x", 1)}, {"f:x": {"i:1": {}}}, id="index"),
    pytest.param({P("a", "<&>")}, {"f:a": {"f:<&>": {}}}, id="field-names-verbatim"),
])
def test_encode_and_decode(paths, wire):
    assert fs.to_fields_v1(paths) == wire
    assert fs.from_fields_v1(wire) == paths


def test_encoding_order_is_fields_then_keys_then_values_then_indices():
    paths = {P("l", 0), P("l", fs.value("b")), P("l", fs.value(2)), P("l", fs.key({"k": "x"})),
             P("l", "zz"), P("l", "a"), P("l", fs.value("a"))}
    assert list(fs.to_fields_v1(paths)["f:l"]) == [
        "f:a", "f:zz", 'k:{"k":"x"}', "v:2", 'v:"a"', 'v:"b"', "i:0"]


def test_key_values_are_go_json():
    assert fs.key({"name": "a<b"}) == ("k", '{"name":"a\\u003cb"}')
    assert fs.key({"port": 80.0}) == ("k", '{"port":80}')


@pytest.mark.parametrize(("path", "text"), [
    (P("spec", "replicas"), ".spec.replicas"),
    (P("spec", "containers", fs.key({"name": "nginx"}), "image"), '.spec.containers[name="nginx"].image'),
    (P("ports", fs.key({"containerPort": 80, "protocol": "TCP"})), '[containerPort=80,protocol="TCP"]'),
    (P("metadata", "finalizers", fs.value("x")), '.metadata.finalizers[="x"]'),
    (P("args", 2), ".args[2]"),
])
def test_path_string(path, text):
    assert fs.path_string(path).endswith(text)


def test_iterate_lists_owned_elements_of_a_level_before_descending():
    paths = {P("spec", "template", "spec", "x"), P("spec", "replicas"), P("spec", "paused")}
    assert [fs.path_string(p) for p in fs.iterate(paths)] == [
        ".spec.paused", ".spec.replicas", ".spec.template.spec.x"]


@pytest.mark.parametrize("bad", [
    pytest.param([], id="not-object"),
    pytest.param({"f:a": 1}, id="non-object-child"),
    pytest.param({"x:a": {}}, id="unknown-kind"),
    pytest.param({"k:[1]": {}}, id="key-not-object"),
])
def test_malformed_fields_rejected(bad):
    with pytest.raises(ValueError):
        fs.from_fields_v1(bad)


@pytest.mark.parametrize("fields", [
    {"name": "plain"}, {"name": 'q"uote'}, {"name": "back\\slash"}, {"name": "ünï"},
    {"containerPort": 80, "protocol": "TCP"}, {"flag": True}, {"ratio": 0.5}, {"tab": "a\tb"},
])
def test_key_text_matches_the_json_encoder(fields):
    assert fs.key(fields) == ("k", fs.wire_json(dict(sorted(fields.items()))))
