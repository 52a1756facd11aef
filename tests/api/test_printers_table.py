"""The Table object: columns, row objects per includeObject, list metadata, CRD columns."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kubelite.api import errors, registry
from kubelite.api.printers import table

NOW = datetime(2025, 1, 10, 12, 0, 0, tzinfo=UTC)
REG = registry.Registry()
DEPLOY = REG.lookup("apps", "v1", "deployments")
META = {"name": "web", "namespace": "default", "creationTimestamp": "2025-01-10T11:59:00Z",
        "labels": {"app": "web"}}
OBJ = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": META, "spec": {"replicas": 1}}


@pytest.mark.parametrize("rt", list(REG), ids=lambda rt: f"{rt.group or 'core'}/{rt.version}/{rt.kind}")
def test_every_served_kind_prints_one_cell_per_column(rt: registry.ResourceType) -> None:
    defs = table.column_definitions(rt)
    assert {"name", "type", "format", "description", "priority"} <= set(defs[0])
    name_cols = [c for c in defs if c["format"] == "name" and c["name"] == "Name"]
    assert name_cols, "every table has a Name column"
    row = table.rows(rt, [{"metadata": {"name": "x"}}], now=NOW)[0]
    assert len(row["cells"]) == len(defs)
    assert row["cells"][defs.index(name_cols[0])] == "x"


def test_to_table_default_includes_partial_object_metadata() -> None:
    assert DEPLOY is not None
    body = table.to_table(DEPLOY, [OBJ], now=NOW, resource_version="42", continue_token="tok",
                          remaining=7)
    assert body["kind"] == "Table" and body["apiVersion"] == "meta.k8s.io/v1"
    assert body["metadata"] == {"resourceVersion": "42", "continue": "tok", "remainingItemCount": 7}
    assert [c["name"] for c in body["columnDefinitions"]] == [
        "Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
    assert body["rows"][0]["object"] == {"kind": "PartialObjectMetadata",
                                         "apiVersion": "meta.k8s.io/v1", "metadata": META}
    assert body["rows"][0]["cells"][:5] == ["web", "0/1", 0, 0, "60s"]


@pytest.mark.parametrize("mode,expected", [
    ("Object", OBJ), ("None", None), ("", {"kind": "PartialObjectMetadata",
                                          "apiVersion": "meta.k8s.io/v1", "metadata": META}),
])
def test_include_object(mode: str, expected: dict | None) -> None:
    assert DEPLOY is not None
    assert table.rows(DEPLOY, [OBJ], now=NOW, include_object=mode)[0]["object"] == expected


def test_unknown_include_object_is_a_bad_request() -> None:
    assert DEPLOY is not None
    with pytest.raises(errors.BadRequest, match="includeObject"):
        table.to_table(DEPLOY, [OBJ], now=NOW, include_object="Everything")


def test_empty_list_has_columns_and_no_rows() -> None:
    assert DEPLOY is not None
    body = table.to_table(DEPLOY, [], now=NOW)
    assert body["rows"] == [] and body["metadata"] == {}
    assert body["columnDefinitions"][0]["name"] == "Name"


def test_column_definitions_are_copies() -> None:
    assert DEPLOY is not None
    table.column_definitions(DEPLOY)[0]["name"] = "changed"
    assert table.column_definitions(DEPLOY)[0]["name"] == "Name"


# -- custom resources ---------------------------------------------------------------------

def crd_type(columns: list[dict] | None) -> registry.ResourceType:
    version: dict = {"name": "v1", "served": True, "storage": True,
                     "schema": {"openAPIV3Schema": {"type": "object"}}}
    if columns is not None:
        version["additionalPrinterColumns"] = columns
    return registry.ResourceType(group="example.com", version="v1", kind="Widget",
                                 plural="widgets", namespaced=True, crd=version)


WIDGET = {"apiVersion": "example.com/v1", "kind": "Widget",
          "metadata": {"name": "w1", "creationTimestamp": "2025-01-09T09:00:00Z"},
          "spec": {"replicas": 3, "ratio": 0.5, "enabled": True, "tags": ["a", "b"]},
          "status": {"conditions": [{"type": "Synced", "status": "False"},
                                    {"type": "Ready", "status": "True"}]}}


def test_crd_without_columns_prints_name_and_age() -> None:
    rt = crd_type(None)
    defs = table.column_definitions(rt)
    assert [(c["name"], c["type"]) for c in defs] == [("Name", "string"), ("Age", "date")]
    assert table.rows(rt, [WIDGET], now=NOW)[0]["cells"] == ["w1", "27h"]


def test_crd_printer_columns() -> None:
    rt = crd_type([
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Ready", "type": "string",
         "jsonPath": '.status.conditions[?(@.type=="Ready")].status', "description": "Readiness"},
        {"name": "Ratio", "type": "number", "jsonPath": ".spec.ratio", "priority": 1},
        {"name": "On", "type": "boolean", "jsonPath": ".spec.enabled"},
        {"name": "Tags", "type": "string", "jsonPath": ".spec.tags"},
        {"name": "Missing", "type": "string", "jsonPath": ".spec.nothing"},
        {"name": "Wrong", "type": "integer", "jsonPath": ".spec.enabled"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ])
    defs = table.column_definitions(rt)
    assert [c["name"] for c in defs] == ["Name", "Replicas", "Ready", "Ratio", "On", "Tags",
                                         "Missing", "Wrong", "Age"]
    assert defs[2]["description"] == "Readiness"
    assert defs[3]["priority"] == 1
    assert "JSONPath" in defs[1]["description"]
    assert table.rows(rt, [WIDGET], now=NOW)[0]["cells"] == [
        "w1", 3, "True", 0.5, True, '["a","b"]', None, None, "27h"]


def test_crd_date_column_with_bad_value_prints_invalid() -> None:
    rt = crd_type([{"name": "Since", "type": "date", "jsonPath": ".spec.tags[0]"}])
    assert table.rows(rt, [WIDGET], now=NOW)[0]["cells"] == ["w1", "<invalid>"]
