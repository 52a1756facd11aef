"""Label and field selectors: parsing, errors and matching as a kubectl user sees them."""

from __future__ import annotations

import pytest

from kubelite.api import errors, fields, labels, registry

LABELS = {"app": "web", "tier": "front", "version": "3"}


@pytest.mark.parametrize("text,expected", [
    ("", True),
    ("app=web", True),
    ("app==web", True),
    ("app!=web", False),
    ("app=db", False),
    ("missing!=x", True),
    ("app in (web,db)", True),
    ("app notin (web)", False),
    ("missing notin (web)", True),
    ("tier", True),
    ("!tier", False),
    ("!missing", True),
    ("app=web,tier=front", True),
    ("app=web,tier=back", False),
    ("  app = web ,  tier in ( front , back ) ", True),
    ("version>2", True),
    ("version<2", False),
    ("app>2", False),
    ("app in (web", None),
], ids=lambda v: repr(v))
def test_label_selector_matches(text: str, expected: bool | None) -> None:
    if expected is None:
        with pytest.raises(errors.BadRequest):
            labels.parse(text)
        return
    assert labels.parse(text).matches(LABELS) is expected


@pytest.mark.parametrize("text,message", [
    ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
    ("a=b=c", "found '=', expected: ',' or 'end of string'"),
    ("a,", "found '', expected: identifier after ','"),
    ("=a", "found '=', expected: !, identifier, or 'end of string'"),
    ("a in (x", "unable to parse requirement: found '', expected: ',' or ')'"),
    ("a@b=c", 'unable to parse requirement: key: Invalid value: "a@b"'),
    ("a=b c", "found 'c', expected: ',' or 'end of string'"),
    ("a=-bad-", 'unable to parse requirement: values[0][a]: Invalid value: "-bad-"'),
    ("a>x", "the value must be an integer"),
], ids=["no-operator", "double-equals-sign", "trailing-comma", "leading-operator",
        "unclosed-set", "bad-key", "two-values", "bad-value", "non-integer-gt"])
def test_label_selector_errors_are_bad_requests(text: str, message: str) -> None:
    with pytest.raises(errors.BadRequest) as info:
        labels.parse(text)
    assert message in str(info.value)
    assert info.value.code == 400


@pytest.mark.parametrize("text,canonical", [
    ("tier=front,app=web", "app=web,tier=front"),
    ("app in (web,db)", "app in (db,web)"),
    ("!a,b", "!a,b"),
    ("a notin (x)", "a notin (x)"),
])
def test_label_selector_string_form_is_sorted(text: str, canonical: str) -> None:
    assert str(labels.parse(text)) == canonical


def test_in_and_notin_are_values_where_a_value_is_expected() -> None:
    sel = labels.parse("in=notin")
    assert sel.matches({"in": "notin"})
    assert not sel.matches({"in": "in"})


def test_label_selector_object_nil_selects_nothing_empty_selects_everything() -> None:
    assert not labels.from_label_selector(None).matches(LABELS)
    assert not labels.from_label_selector(None).matches({})
    assert labels.from_label_selector({}).matches(LABELS)
    assert labels.from_label_selector({}).empty()
    assert labels.parse("").empty()


def test_label_selector_object_expressions() -> None:
    sel = labels.from_label_selector({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "mid"]},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "version", "operator": "Exists"},
            {"key": "legacy", "operator": "DoesNotExist"},
        ],
    })
    assert sel.matches(LABELS)
    assert not sel.matches({**LABELS, "legacy": "y"})
    assert not sel.matches({**LABELS, "env": "prod"})
    assert str(sel) == "app=web,env notin (prod),!legacy,tier in (front,mid),version"


def test_label_selector_object_rejects_unknown_operator() -> None:
    with pytest.raises(errors.BadRequest, match="is not a valid label selector operator"):
        labels.from_label_selector({"matchExpressions": [{"key": "a", "operator": "Gt"}]})


@pytest.mark.parametrize("selector,text", [
    (None, "<none>"),
    ({}, "<none>"),
    ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
    ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, "<error>"),
])
def test_format_label_selector(selector: dict | None, text: str) -> None:
    assert labels.format_label_selector(selector) == text


def test_format_labels() -> None:
    assert labels.format_labels({"b": "2", "a": "1"}) == "a=1,b=2"
    assert labels.format_labels({}) == "<none>"


# -- field selectors ----------------------------------------------------------------------

REG = registry.Registry()
PODS = REG.lookup("", "v1", "pods")


def _pod(**spec: object) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-1", "namespace": "default"},
            "spec": {"nodeName": "n1", "restartPolicy": "Always", **spec},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}]}}


@pytest.mark.parametrize("text,expected", [
    ("", True),
    ("metadata.name=web-1", True),
    ("metadata.name==web-1", True),
    ("metadata.name!=web-1", False),
    ("metadata.namespace=default,spec.nodeName=n1", True),
    ("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed", True),
    ("status.phase=Pending", False),
    ("spec.hostNetwork=false", True),
    ("status.podIP=10.0.0.5", True),
    ("spec.restartPolicy=Always", True),
    ("status.nominatedNodeName=", True),
    ("spec.host=n1", True),
])
def test_pod_field_selectors(text: str, expected: bool) -> None:
    assert PODS is not None
    sel = fields.parse(text)
    fields.validate(PODS, sel)
    assert sel.matches(_pod(), PODS) is expected
    assert sel.matches(_pod()) is expected  # kind inferred from the object


def test_host_network_true_is_lower_case() -> None:
    assert fields.parse("spec.hostNetwork=true").matches(_pod(hostNetwork=True))


@pytest.mark.parametrize("text,field,value", [
    (r"metadata.name=a\,b", "metadata.name", "a,b"),
    (r"metadata.name=a\=b", "metadata.name", "a=b"),
    (r"metadata.name=a\\b", "metadata.name", "a\\b"),
])
def test_field_selector_escapes(text: str, field: str, value: str) -> None:
    sel = fields.parse(text)
    assert sel.exact(field) == value
    assert fields.parse(str(sel)) == sel


@pytest.mark.parametrize("text,message", [
    ("metadata.name", "invalid selector: 'metadata.name'; can't understand 'metadata.name'"),
    (r"metadata.name=a\b", "invalid escape sequence"),
    ("metadata.name=a=b", "unescaped character"),
], ids=["no-operator", "bad-escape", "unescaped-equals"])
def test_field_selector_parse_errors(text: str, message: str) -> None:
    with pytest.raises(errors.BadRequest, match=message.replace("\\", "\\\\")):
        fields.parse(text)


def test_unsupported_field_label_is_rejected() -> None:
    cms = REG.lookup("", "v1", "configmaps")
    assert cms is not None
    with pytest.raises(errors.BadRequest) as info:
        fields.validate(cms, fields.parse("data.foo=bar"))
    assert str(info.value) == "field label not supported: data.foo"


@pytest.mark.parametrize("group,plural,labels_", [
    ("", "pods", {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                  "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
                  "status.nominatedNodeName", "spec.host"}),  # spec.host: old clients' name
    ("", "events", {"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
                    "involvedObject.uid", "involvedObject.apiVersion",
                    "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason",
                    "reportingComponent", "source", "type"}),
    ("", "secrets", {"type"}),
    ("", "nodes", {"spec.unschedulable"}),
    ("", "namespaces", {"status.phase"}),
    ("apps", "replicasets", {"status.replicas"}),
    ("", "replicationcontrollers", {"status.replicas"}),
    ("batch", "jobs", {"status.successful"}),
    ("", "services", {"spec.clusterIP", "spec.type"}),
    ("", "configmaps", set()),
])
def test_supported_field_labels(group: str, plural: str, labels_: set[str]) -> None:
    rt = next(r for r in REG if r.group == group and r.plural == plural)
    assert fields.supported(rt) == {"metadata.name", "metadata.namespace"} | labels_


def test_event_fields_as_describe_asks_for_them() -> None:
    event = {"apiVersion": "v1", "kind": "Event",
             "metadata": {"name": "web.1", "namespace": "default"},
             "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "uid": "u1"},
             "reason": "Started", "type": "Normal", "source": {"component": "kubelet"}}
    sel = fields.parse("involvedObject.name=web,involvedObject.namespace=default,"
                       "involvedObject.uid=u1,involvedObject.kind=Pod")
    assert sel.matches(event)
    assert fields.parse("source=kubelet,type=Normal,reason=Started").matches(event)
    assert not fields.parse("involvedObject.uid=u2").matches(event)


@pytest.mark.parametrize("obj,text", [
    ({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}}, "status.successful=0"),
    ({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"},
      "status": {"replicas": 3}}, "status.replicas=3"),
    ({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}, "spec.unschedulable=false"),
    ({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
      "spec": {"unschedulable": True}}, "spec.unschedulable=true"),
    ({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
      "type": "kubernetes.io/tls"}, "type=kubernetes.io/tls"),
])
def test_values_are_formatted_like_upstream(obj: dict, text: str) -> None:
    assert fields.parse(text).matches(obj)


def test_custom_resource_selectable_fields() -> None:
    rt = registry.ResourceType(
        group="example.com", version="v1", kind="Widget", plural="widgets", namespaced=True,
        crd={"name": "v1", "selectableFields": [{"jsonPath": ".spec.color"}]})
    assert fields.supported(rt) == {"metadata.name", "metadata.namespace", "spec.color"}
    widget = {"metadata": {"name": "w"}, "spec": {"color": "blue"}}
    assert fields.parse("spec.color=blue").matches(widget, rt)
    assert not fields.parse("spec.color=red").matches(widget, rt)
    with pytest.raises(errors.BadRequest, match="field label not supported: spec.size"):
        fields.validate(rt, fields.parse("spec.size=3"))
