"""Certificates by SNI from kubernetes.io/tls Secrets, and the fallback."""

from __future__ import annotations

import base64
from typing import Any

from kubelite.apiserver import certs as pki
from kubelite.ingress import tls
from tests.ingress.builders import ingress, path

Obj = dict[str, Any]
CA = pki.new_ca("test-ca")


def secret(name: str, *hosts: str, type_: str = "kubernetes.io/tls") -> Obj:
    pair = pki.issue(CA, hosts[0], hosts=hosts, server=True)
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": "1"},
            "type": type_, "data": {"tls.crt": base64.b64encode(pair.cert_pem).decode(),
                                    "tls.key": base64.b64encode(pair.key_pem).decode()}}


def build(ings: list[Obj], secrets: dict[str, Obj]) -> tuple[tls.Certificates, list[str]]:
    store = tls.Store()
    certs, problems = store.certificates(ings, lambda key: secrets.get(key))
    return certs, [msg for _, msg in problems]


def test_sni_picks_the_secret_of_the_host() -> None:
    secrets = {"default/a": secret("a", "a.test"), "default/wild": secret("wild", "*.w.test")}
    ing = ingress("x", ("a.test", [path("/", "Prefix", "s")]),
                  tls=[{"hosts": ["a.test"], "secretName": "a"},
                       {"hosts": ["*.w.test"], "secretName": "wild"}])
    certs, problems = build([ing], secrets)
    assert problems == []
    assert certs.for_name("a.test") is certs.exact["a.test"]
    assert certs.for_name("one.w.test") is certs.wildcard[".w.test"]
    assert certs.for_name("two.one.w.test") is certs.fallback
    assert certs.for_name(None) is certs.fallback
    assert certs.for_name("other.test") is certs.fallback


def test_tls_without_hosts_covers_the_rules_hosts() -> None:
    ing = ingress("x", ("r.test", [path("/", "Prefix", "s")]), tls=[{"secretName": "r"}])
    certs, _ = build([ing], {"default/r": secret("r", "r.test")})
    assert "r.test" in certs.exact


def test_missing_and_wrong_secrets_are_problems_and_fall_back() -> None:
    ing = ingress("x", tls=[{"hosts": ["m.test"], "secretName": "missing"},
                            {"hosts": ["o.test"], "secretName": "opaque"}])
    certs, problems = build([ing], {"default/opaque": secret("opaque", "o.test",
                                                             type_="Opaque")})
    assert certs.for_name("m.test") is certs.fallback
    assert certs.for_name("o.test") is certs.fallback
    assert problems == ["TLS secret default/missing: not found",
                        "TLS secret default/opaque: type is 'Opaque', not kubernetes.io/tls"]


def test_garbage_certificate_is_a_problem() -> None:
    bad = secret("bad", "b.test")
    bad["data"]["tls.crt"] = base64.b64encode(b"not a certificate").decode()
    _, problems = build([ingress("x", tls=[{"hosts": ["b.test"], "secretName": "bad"}])],
                        {"default/bad": bad})
    assert len(problems) == 1 and problems[0].startswith("TLS secret default/bad: ")


def test_older_ingress_keeps_a_host() -> None:
    secrets = {"default/old": secret("old", "h.test"), "default/new": secret("new", "h.test")}
    new = ingress("new", tls=[{"hosts": ["h.test"], "secretName": "new"}],
                  created="2026-02-01T00:00:00Z")
    old = ingress("old", tls=[{"hosts": ["h.test"], "secretName": "old"}],
                  created="2026-01-01T00:00:00Z")
    store = tls.Store()
    certs, _ = store.certificates([new, old], lambda key: secrets.get(key))
    certs_old_only, _ = store.certificates([old], lambda key: secrets.get(key))
    assert certs.exact["h.test"] is certs_old_only.exact["h.test"]  # built once, reused
