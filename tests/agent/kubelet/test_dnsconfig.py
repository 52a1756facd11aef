"""A pod's /etc/resolv.conf per dnsPolicy and dnsConfig, as the kubelet forms it."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.agent.kubelet import dnsconfig
from kubelite.agent.runtime import protocol

HOST = protocol.DNSConfig(("192.0.2.53", "192.0.2.54"), ("corp.example",), ("edns0",))
SETTINGS = dnsconfig.Settings(cluster_dns=("10.43.0.10",))
CLUSTER_SEARCH = ("web.svc.cluster.local", "svc.cluster.local", "cluster.local")


def pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "web"}, "spec": spec}


@pytest.mark.parametrize("spec,want", [
    ({}, (("10.43.0.10",), CLUSTER_SEARCH + ("corp.example",), ("ndots:5",))),
    ({"dnsPolicy": "ClusterFirst"},
     (("10.43.0.10",), CLUSTER_SEARCH + ("corp.example",), ("ndots:5",))),
    ({"dnsPolicy": "ClusterFirst", "hostNetwork": True}, (HOST.servers, HOST.searches, HOST.options)),
    ({"dnsPolicy": "ClusterFirstWithHostNet", "hostNetwork": True},
     (("10.43.0.10",), CLUSTER_SEARCH + ("corp.example",), ("ndots:5",))),
    ({"dnsPolicy": "Default"}, (HOST.servers, HOST.searches, HOST.options)),
    ({"dnsPolicy": "None", "dnsConfig": {"nameservers": ["1.2.3.4"], "searches": ["a.example"],
                                         "options": [{"name": "ndots", "value": "2"},
                                                     {"name": "rotate"}]}},
     (("1.2.3.4",), ("a.example",), ("ndots:2", "rotate"))),
    ({"dnsPolicy": "None", "dnsConfig": {}}, ((), (), ())),
    ({"dnsConfig": {"nameservers": ["10.43.0.10", "1.1.1.1"], "searches": ["cluster.local", "x.y"],
                    "options": [{"name": "ndots", "value": "1"}, {"name": "edns0"}]}},
     (("10.43.0.10", "1.1.1.1"), CLUSTER_SEARCH + ("corp.example", "x.y"), ("ndots:1", "edns0"))),
    ({"dnsPolicy": "Default", "dnsConfig": {"nameservers": ["1.1.1.1", "8.8.8.8"]}},
     (HOST.servers + ("1.1.1.1",), HOST.searches, HOST.options)),
    ({"dnsPolicy": "None", "dnsConfig": {"searches": [f"d{i}.example" for i in range(40)]}},
     ((), tuple(f"d{i}.example" for i in range(32)), ())),
], ids=["default-policy", "cluster-first", "cluster-first-host-network-is-default",
        "cluster-first-with-host-net", "default", "none-from-dns-config", "none-empty",
        "cluster-first-merged", "nameservers-cut-to-three", "searches-cut-to-32"])
def test_policy_and_config(spec: dict[str, Any], want: tuple[Any, ...]) -> None:
    dns, _ = dnsconfig.for_pod(pod(**spec), SETTINGS, HOST)
    assert (dns.servers, dns.searches, dns.options) == want


def test_cut_limits_are_reported() -> None:
    _, warnings = dnsconfig.for_pod(pod(dnsPolicy="Default", dnsConfig={"nameservers": [
        "1.1.1.1", "8.8.8.8"]}), SETTINGS, HOST)
    assert warnings == [("DNSConfigForming", ("Nameserver limits were exceeded, some nameservers "
                         "have been omitted, the applied nameserver line is: "
                         "192.0.2.53 192.0.2.54 1.1.1.1"))]


def test_long_search_line_loses_its_tail() -> None:
    long = [("a" * 60 + f".d{i}.example") for i in range(31)]
    dns, warnings = dnsconfig.for_pod(pod(dnsPolicy="None", dnsConfig={
        "searches": long + ["b" * 254]}), SETTINGS, HOST)
    assert len(" ".join(dns.searches)) <= 2048 and dns.searches == tuple(long[:len(dns.searches)])
    assert len(dns.searches) < 31 and warnings[0][0] == "DNSConfigForming"


def test_cluster_first_without_cluster_dns_falls_back_to_the_node() -> None:
    dns, warnings = dnsconfig.for_pod(pod(), dnsconfig.Settings(), HOST)
    assert dns == HOST
    assert [w[0] for w in warnings] == ["MissingClusterDNS"]


@pytest.mark.parametrize("text,want", [
    ("nameserver 1.1.1.1\nnameserver 9.9.9.9\nsearch a.example. b.example\noptions ndots:2 rotate\n",
     (("1.1.1.1", "9.9.9.9"), ("a.example", "b.example"), ("ndots:2", "rotate"))),
    ("# comment\nsearch old.example\nsearch new.example\nnameserver\noptions a\noptions b\n",
     ((), ("new.example",), ("b",))),
    ("", ((), (), ())),
], ids=["full", "last-search-and-options-win", "empty"])
def test_parse_resolv_conf(text: str, want: tuple[Any, ...]) -> None:
    dns = dnsconfig.parse_resolv_conf(text)
    assert (dns.servers, dns.searches, dns.options) == want


def test_node_without_resolv_conf_uses_loopback(tmp_path: Any) -> None:
    assert dnsconfig.read_host(dnsconfig.Settings(resolv_conf="")) == protocol.DNSConfig(
        ("127.0.0.1",), (".",), ())
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 127.0.0.2\nsearch lan\n")
    assert dnsconfig.read_host(dnsconfig.Settings(resolv_conf=str(path))) == protocol.DNSConfig(
        ("127.0.0.2",), ("lan",), ())
