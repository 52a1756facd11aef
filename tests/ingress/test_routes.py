"""Ingress matching as upstream documents it (the path-matching table of the Ingress
docs and the host/path/default-backend features of the ingress conformance suite)."""

from __future__ import annotations

import pytest

from kubelite.ingress import routes
from tests.ingress.builders import ingress, path

E, P, I = "Exact", "Prefix", "ImplementationSpecific"


def served_by(table: routes.Table, host: str, p: str) -> str | None:
    b = table.match(host, p)
    return None if b is None else b.service


# (rules as (path, pathType, service), request path, expected service or None for 404)
PATH_CASES = [
    ("prefix-root-matches-all", [("/", P, "root")], "/aaa/bbb", "root"),
    ("prefix-root-matches-root", [("/", P, "root")], "/", "root"),
    ("exact-other-path", [("/foo", E, "foo")], "/bar", None),
    ("exact-same", [("/foo", E, "foo")], "/foo", "foo"),
    ("exact-no-trailing-slash", [("/foo", E, "foo")], "/foo/", None),
    ("exact-slash-vs-none", [("/foo/", E, "foo")], "/foo", None),
    ("exact-case-sensitive", [("/foo", E, "foo")], "/FOO", None),
    ("prefix-same", [("/foo", P, "foo")], "/foo", "foo"),
    ("prefix-trailing-slash-request", [("/foo", P, "foo")], "/foo/", "foo"),
    ("prefix-trailing-slash-rule", [("/foo/", P, "foo")], "/foo", "foo"),
    ("prefix-trailing-slash-both", [("/foo/", P, "foo")], "/foo/", "foo"),
    ("prefix-not-partial-element", [("/aaa/bb", P, "x")], "/aaa/bbb", None),
    ("prefix-element-wise", [("/aaa/bbb", P, "x")], "/aaa/bbb", "x"),
    ("prefix-ignores-trailing-slash", [("/aaa/bbb", P, "x")], "/aaa/bbb/", "x"),
    ("prefix-subpath", [("/aaa/bbb", P, "x")], "/aaa/bbb/ccc", "x"),
    ("prefix-not-string-prefix", [("/aaa/bbb", P, "x")], "/aaa/bbbxyz", None),
    ("foo-not-foobar", [("/foo", P, "foo")], "/foobar", None),
    ("longest-of-two", [("/", P, "root"), ("/aaa", P, "aaa")], "/aaa/ccc", "aaa"),
    ("longest-of-three", [("/", P, "root"), ("/aaa", P, "aaa"), ("/aaa/bbb", P, "bbb")],
     "/aaa/bbb", "bbb"),
    ("longest-falls-back-to-root", [("/", P, "root"), ("/aaa", P, "aaa"),
                                    ("/aaa/bbb", P, "bbb")], "/ccc", "root"),
    ("no-match", [("/aaa", P, "aaa")], "/ccc", None),
    ("exact-before-prefix", [("/foo", P, "prefix"), ("/foo", E, "exact")], "/foo", "exact"),
    ("exact-before-prefix-any-order", [("/foo", E, "exact"), ("/foo", P, "prefix")], "/foo",
     "exact"),
    ("prefix-when-exact-misses", [("/foo", P, "prefix"), ("/foo", E, "exact")], "/foo/",
     "prefix"),
    ("prefix-slash-ties-with-exact", [("/foo/", P, "prefix"), ("/foo", E, "exact")], "/foo",
     "exact"),
    ("longer-prefix-beats-exact", [("/foo/bar", P, "long"), ("/foo", E, "exact")], "/foo/bar",
     "long"),
    ("exact-trailing-slash", [("/foo/", E, "slash"), ("/aaa/bbb/", P, "bbb")], "/foo/", "slash"),
    ("trailing-slash-prefix-without", [("/foo/", E, "slash"), ("/aaa/bbb/", P, "bbb")],
     "/aaa/bbb", "bbb"),
    ("impl-specific-is-prefix", [("/app", I, "app")], "/app/x", "app"),
    ("impl-specific-element-wise", [("/app", I, "app")], "/apps", None),
    ("double-slashes-are-elements", [("/aaa/bbb", P, "x")], "/aaa//bbb/c", "x"),
]


@pytest.mark.parametrize("rules,request_path,want", [c[1:] for c in PATH_CASES],
                         ids=[c[0] for c in PATH_CASES])
def test_path_matching(rules: list[tuple[str, str, str]], request_path: str,
                       want: str | None) -> None:
    table = routes.build([ingress("a", ("", [path(p, k, s) for p, k, s in rules]))])
    assert served_by(table, "any.host", request_path) == want


def _hosts_table() -> routes.Table:
    return routes.build([ingress(
        "hosts",
        ("*.foo.com", [path("/", P, "wildcard-foo-com")]),
        ("foo.bar.com", [path("/", P, "foo-bar-com")]),
        ("bar.foo.com", [path("/exact-host", P, "exact-bar")]),
        ("", [path("/anyhost", P, "anyhost")]))])


HOST_CASES = [
    ("exact-host", "foo.bar.com", "/", "foo-bar-com"),
    ("host-with-port", "foo.bar.com:8080", "/x", "foo-bar-com"),
    ("host-case-insensitive", "FOO.Bar.com", "/", "foo-bar-com"),
    ("unknown-host-uses-hostless-rules", "some.value.com", "/anyhost", "anyhost"),
    ("unknown-host-no-path-404", "some.value.com", "/", None),
    ("wildcard-one-label", "baz.foo.com", "/", "wildcard-foo-com"),
    ("wildcard-not-two-labels", "baz.bar.foo.com", "/", None),
    ("wildcard-not-bare-domain", "foo.com", "/", None),
    ("exact-host-beats-wildcard", "bar.foo.com", "/exact-host", "exact-bar"),
    ("exact-host-is-a-virtual-server", "bar.foo.com", "/", None),
    ("host-rules-do-not-fall-to-hostless", "foo.bar.com", "/anyhost", "foo-bar-com"),
    ("ipv4-host", "127.0.0.1:80", "/anyhost", "anyhost"),
    ("trailing-dot", "foo.bar.com.", "/", "foo-bar-com"),
]


@pytest.mark.parametrize("host,request_path,want", [c[1:] for c in HOST_CASES],
                         ids=[c[0] for c in HOST_CASES])
def test_host_matching(host: str, request_path: str, want: str | None) -> None:
    assert served_by(_hosts_table(), host, request_path) == want


def test_default_backend_takes_what_matches_nothing() -> None:
    table = routes.build([ingress("a", ("foo.com", [path("/app", P, "app")]), default="dflt")])
    assert served_by(table, "foo.com", "/app") == "app"
    assert served_by(table, "foo.com", "/other") == "dflt"
    assert served_by(table, "elsewhere", "/app") == "dflt"


def test_default_backend_only() -> None:
    table = routes.build([ingress("a", default="dflt")])
    assert served_by(table, "x", "/anything/at/all") == "dflt"


def test_oldest_default_backend_wins() -> None:
    table = routes.build([
        ingress("new", default="newer", created="2026-02-01T00:00:00Z"),
        ingress("old", default="older", created="2026-01-01T00:00:00Z")])
    assert served_by(table, "x", "/") == "older"


def test_rules_merge_across_ingresses_and_older_wins_a_tie() -> None:
    table = routes.build([
        ingress("b", ("h.com", [path("/api", P, "newer-api")]), created="2026-02-01T00:00:00Z"),
        ingress("a", ("h.com", [path("/api", P, "older-api"), path("/", P, "web")]),
                created="2026-01-01T00:00:00Z"),
        ingress("c", ("h.com", [path("/api/v2", P, "v2")]), created="2026-03-01T00:00:00Z")])
    assert served_by(table, "h.com", "/api/x") == "older-api"
    assert served_by(table, "h.com", "/api/v2/x") == "v2"
    assert served_by(table, "h.com", "/index.html") == "web"


def test_backend_carries_namespace_port_and_ingress() -> None:
    table = routes.build([ingress("web", ("", [path("/", P, "svc", "http")]), namespace="ns1")])
    assert table.match("h", "/") == routes.Backend("ns1", "svc", "http", "ns1/web")


def test_resource_backends_are_not_served() -> None:
    ing = ingress("a", ("", [{"path": "/", "pathType": P,
                              "backend": {"resource": {"kind": "Bucket", "name": "b"}}}]))
    assert routes.build([ing]).match("h", "/") is None


def test_backends_lists_every_rule_and_default() -> None:
    table = routes.build([ingress("a", ("h", [path("/", P, "one")]), ("", [path("/", P, "two")]),
                                  default="three")])
    assert sorted(b.service for b in table.backends()) == ["one", "three", "two"]
