"""Reading resource types out of discovery documents."""

from __future__ import annotations

from kubelite.client import discovery

GROUPS = {"kind": "APIGroupList", "groups": [
    {"name": "apps", "versions": [{"groupVersion": "apps/v1", "version": "v1"}],
     "preferredVersion": {"groupVersion": "apps/v1", "version": "v1"}},
    {"name": "stable.example.com",
     "versions": [{"groupVersion": "stable.example.com/v2", "version": "v2"},
                  {"groupVersion": "stable.example.com/v1", "version": "v1"}],
     "preferredVersion": {"groupVersion": "stable.example.com/v1", "version": "v1"}},
    {"name": "old", "versions": [{"groupVersion": "old/v1beta1", "version": "v1beta1"}]},
]}


def test_preferred_group_versions() -> None:
    assert discovery.preferred_group_versions(GROUPS) == [
        "v1", "apps/v1", "stable.example.com/v1", "old/v1beta1"]


def test_types_of_skips_subresources_and_keeps_verbs() -> None:
    doc = {"resources": [
        {"name": "deployments", "kind": "Deployment", "namespaced": True,
         "verbs": ["create", "delete", "get", "list", "watch"]},
        {"name": "deployments/status", "kind": "Deployment", "namespaced": True,
         "verbs": ["get", "patch"]},
        {"name": "tokenreviews", "kind": "TokenReview", "namespaced": False,
         "verbs": ["create"]},
    ]}
    types = discovery.types_of("apps/v1", doc)
    assert [(t.group, t.version, t.plural, t.namespaced) for t in types] == [
        ("apps", "v1", "deployments", True), ("apps", "v1", "tokenreviews", False)]
    assert [t.plural for t in discovery.with_verbs(types, "list", "watch", "delete")] == [
        "deployments"]
