"""Custom resources validated, pruned and defaulted by their CRD schema; CRD objects checked."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api import defaults, errors, registry, validation

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "spec": {
            "type": "object",
            "required": ["size"],
            "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "mode": {"type": "string", "enum": ["fast", "safe"], "default": "safe"},
                "name": {"type": "string", "maxLength": 5, "pattern": "^[a-z]+$"},
                "port": {"x-kubernetes-int-or-string": True},
                "when": {"type": "string", "format": "date-time"},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"},
                         "x-kubernetes-list-type": "set"},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
                          "properties": {"known": {"type": "object", "properties": {
                              "a": {"type": "string"}}}}},
                "ratio": {"type": "number", "nullable": True},
                "options": {"type": "object", "default": {},
                            "properties": {"retries": {"type": "integer", "default": 3}}},
            },
        },
        "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}},
    },
}


def crd_type(schema: dict[str, Any] = SCHEMA, preserve: bool = False) -> registry.ResourceType:
    return registry.ResourceType(
        group="example.com", version="v1", kind="Widget", plural="widgets", namespaced=True,
        crd={"openAPIV3Schema": schema, "additionalPrinterColumns": [], "subresources": {},
             "preserveUnknownFields": preserve})


def widget(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "default"}, "spec": {"size": 3, **spec}}


def causes_of(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(errors.Invalid) as info:
        validation.validate(crd_type(), obj)
    return [(c.field, c.reason, c.message) for c in info.value.causes]


def test_valid_widget_passes() -> None:
    validation.validate(crd_type(), widget(mode="fast", port="http", when="2024-01-02T03:04:05Z",
                                           tags=["a"], labels={"x": "y"}, ratio=None))


@pytest.mark.parametrize("obj,expected", [
    (widget(size="big"), [("spec.size", "FieldValueTypeInvalid",
                           ('Invalid value: "string": spec.size in body must be of type integer: '
                           '"string"'))]),
    (widget(size=0), [("spec.size", "FieldValueInvalid",
                       "Invalid value: 0: spec.size in body should be greater than or equal to 1")]),
    (widget(size=11), [("spec.size", "FieldValueInvalid",
                        "Invalid value: 11: spec.size in body should be less than or equal to 10")]),
    ({**widget(), "spec": {}}, [("spec.size", "FieldValueRequired", "Required value")]),
    (widget(mode="slow"), [("spec.mode", "FieldValueNotSupported",
                            'Unsupported value: "slow": supported values: "fast", "safe"')]),
    (widget(name="abcdef"), [("spec.name", "FieldValueTooLong", "Too long: may not be longer than 5")]),
    (widget(name="AB"), [("spec.name", "FieldValueInvalid",
                          "Invalid value: \"AB\": spec.name in body should match '^[a-z]+$'")]),
    (widget(port=1.5), [("spec.port", "FieldValueTypeInvalid", ('Invalid value: "number": '
                         'spec.port in body must be of type integer,string: "number"'))]),
    (widget(when="yesterday"), [("spec.when", "FieldValueInvalid", ('Invalid value: "yesterday": '
                                 'spec.when in body must be of type date-time: "yesterday"'))]),
    (widget(tags=["a", "b", "c"]), [("spec.tags", "FieldValueTooMany",
                                     "Too many: 3: must have at most 2 items")]),
    (widget(tags=["a", "a"]), [("spec.tags[1]", "FieldValueDuplicate", 'Duplicate value: "a"')]),
    (widget(labels={"x": 1}), [("spec.labels.x", "FieldValueTypeInvalid", ('Invalid value: "integer": '
                                'spec.labels.x in body must be of type string: "integer"'))]),
    (widget(mode=None), [("spec.mode", "FieldValueTypeInvalid",
                          'Invalid value: "null": spec.mode in body must be of type string: "null"')]),
    ({**widget(), "metadata": {"name": "Bad_Name", "namespace": "default"}}, [(
        "metadata.name", "FieldValueInvalid",
        ("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case "
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'example.com', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))]),
], ids=["type", "minimum", "maximum", "required", "enum", "max-length", "pattern",
        "int-or-string", "format", "max-items", "set-duplicate", "map-values", "null",
        "metadata-name"])
def test_schema_causes(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert causes_of(obj) == expected


def test_invalid_error_names_the_qualified_kind() -> None:
    with pytest.raises(errors.Invalid) as info:
        validation.validate(crd_type(), widget(size=0))
    assert info.value.status()["details"]["kind"] == "Widget"
    assert str(info.value).startswith('Widget.example.com "w" is invalid: spec.size: ')


def test_prune_drops_unknown_fields_and_reports_paths() -> None:
    obj = widget(bogus=1, extra={"anything": {"goes": True}, "known": {"a": "x", "b": "y"}})
    obj["status"] = {"ready": True, "note": "x"}
    obj["top"] = 1
    obj["metadata"]["colour"] = "red"
    rt = crd_type()
    assert validation.check_unknown_fields(rt, obj) == [
        "metadata.colour", "spec.bogus", "spec.extra.known.b", "status.note", "top"]
    assert "bogus" in obj["spec"]  # checking does not remove
    assert validation.prune(rt, obj) == [
        "metadata.colour", "spec.bogus", "spec.extra.known.b", "status.note", "top"]
    assert obj["spec"]["extra"] == {"anything": {"goes": True}, "known": {"a": "x"}}
    assert obj["status"] == {"ready": True} and "top" not in obj
    assert obj["metadata"] == {"name": "w", "namespace": "default"}
    assert validation.prune(rt, obj) == []


def test_preserve_unknown_fields_keeps_everything_but_metadata_junk() -> None:
    obj = widget(bogus=1)
    assert validation.prune(crd_type(preserve=True), obj) == []
    assert obj["spec"]["bogus"] == 1


def test_builtin_prune_is_a_no_op() -> None:
    rt = registry.Registry().by_kind("", "v1", "ConfigMap")
    assert rt is not None
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "junk": 1}
    assert validation.prune(rt, obj) == [] and obj["junk"] == 1


def test_schema_defaults_fill_absent_fields_only() -> None:
    obj = widget()
    defaults.apply_defaults(crd_type(), obj)
    assert obj["spec"]["mode"] == "safe"
    assert obj["spec"]["options"] == {"retries": 3}
    kept = widget(mode="fast", options={"retries": 0})
    defaults.apply_defaults(crd_type(), kept)
    assert (kept["spec"]["mode"], kept["spec"]["options"]) == ("fast", {"retries": 0})


def crd(**spec: Any) -> dict[str, Any]:
    body = {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [{"name": "v1", "served": True, "storage": True,
                          "schema": {"openAPIV3Schema": {"type": "object"}}}], **spec}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"}, "spec": body}


CRD_RT = registry.Registry().by_kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition")


def crd_causes(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    assert CRD_RT is not None
    defaults.apply_defaults(CRD_RT, obj)
    with pytest.raises(errors.Invalid) as info:
        validation.validate(CRD_RT, obj)
    return [(c.field, c.reason, c.message) for c in info.value.causes]


def test_valid_crd_passes_and_gets_defaults() -> None:
    assert CRD_RT is not None
    obj = crd()
    defaults.apply_defaults(CRD_RT, obj)
    validation.validate(CRD_RT, obj)
    assert obj["spec"]["names"]["listKind"] == "WidgetList"
    assert obj["spec"]["conversion"] == {"strategy": "None"}


@pytest.mark.parametrize("obj,expected", [
    ({**crd(), "metadata": {"name": "widget.example.com"}}, [(
        "metadata.name", "FieldValueInvalid",
        'Invalid value: "widget.example.com": must be spec.names.plural+"."+spec.group')]),
    (crd(versions=[{"name": "v1", "served": True, "storage": False,
                    "schema": {"openAPIV3Schema": {"type": "object"}}}]),
     [("spec.versions", "FieldValueInvalid",
       ('Invalid value: [{"name":"v1","schema":{"openAPIV3Schema":{"type":"object"}},"served":true,'
       '"storage":false}]: must have exactly one version marked as storage version'))]),
    (crd(scope="Global"), [("spec.scope", "FieldValueNotSupported",
                            'Unsupported value: "Global": supported values: "Cluster", "Namespaced"')]),
    (crd(versions=[{"name": "v1", "served": True, "storage": True,
                    "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                        "spec": {"properties": {"a": {"type": "string"}}}}}}}]),
     [("spec.versions[0].schema.openAPIV3Schema.properties[spec].type", "FieldValueRequired",
       "Required value: must not be empty for specified object fields")]),
], ids=["name-mismatch", "no-storage-version", "scope", "structural"])
def test_crd_object_causes(obj: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert crd_causes(obj) == expected
