"""The nft table the proxy writes, from Services and EndpointSlices (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.agent.network.proxy import rules

Obj = dict[str, Any]
CFG = rules.Config("10.42.0.0/16", "10.43.0.0/16", ("127.0.0.1", "192.168.1.5"))


def service(name: str = "web", ip: str = "10.43.0.50", node_port: int = 0,
            **spec: Any) -> Obj:
    port: Obj = {"name": "http", "port": 80, "protocol": "TCP"}
    if node_port:
        port["nodePort"] = node_port
    return {"metadata": {"namespace": "default", "name": name},
            "spec": {"clusterIP": ip, "ports": [port], **spec}}


def eps(*addrs: str, ready: bool = True, svc: str = "web", port_name: str = "http") -> Obj:
    return {"metadata": {"namespace": "default", "name": f"{svc}-x",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4", "ports": [{"name": port_name, "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [a], "conditions": {"ready": ready}} for a in addrs]}


def chain(text: str, name: str) -> list[str]:
    """The rule lines of one chain of the rendered table."""
    lines = [x.strip() for x in text.splitlines()]
    start = lines.index(f"chain {name} {{")
    return lines[start + 1:lines.index("}", start)]


def test_cluster_ip_with_two_endpoints_picks_one_at_random() -> None:
    text = rules.render([service()], [eps("10.42.7.3", "10.42.7.2")], CFG)
    assert "elements = { 10.43.0.50 . tcp . 80 : goto service-default/web/tcp/http }" in text
    ep2, ep3 = ("endpoint-default/web/tcp/http/10.42.7.2/8080",
                "endpoint-default/web/tcp/http/10.42.7.3/8080")
    assert chain(text, "service-default/web/tcp/http") == [
        f"numgen random mod 2 vmap {{ 0 : goto {ep2}, 1 : goto {ep3} }}"]
    assert chain(text, ep2) == ["ip saddr 10.42.7.2 meta mark set meta mark | 0x4000",
                                "meta l4proto tcp dnat to 10.42.7.2:8080"]
    assert chain(text, "nat-prerouting") == [
        "type nat hook prerouting priority -100; policy accept;",
        "ip daddr . meta l4proto . th dport vmap @service-ips",
        "ip daddr . meta l4proto . th dport vmap @node-ports"]
    assert chain(text, "nat-output")[0] == "type nat hook output priority -100; policy accept;"
    assert chain(text, "filter-forward")[-1] == \
        "ip daddr != { 10.42.0.0/16, 10.43.0.0/16 } drop"
    assert chain(text, "nat-postrouting")[1:] == [
        "meta mark & 0x4000 == 0 return", "meta mark set meta mark & 0xffffbfff masquerade"]


@pytest.mark.parametrize("slices", [
    [], [eps()], [eps("10.42.7.2", ready=False)], [eps("10.42.7.2", port_name="other")],
    [eps("10.42.7.2", svc="other")]],
    ids=["no-slice", "empty-slice", "not-ready", "other-port", "other-service"])
def test_no_ready_endpoints_reject(slices: list[Obj]) -> None:
    text = rules.render([service(node_port=30080)], slices, CFG)
    assert "elements = { 10.43.0.50 . tcp . 80,\n\t\t\t127.0.0.1 . tcp . 30080,\n" \
           "\t\t\t192.168.1.5 . tcp . 30080 }" in text
    assert "service-default/web" not in text and "dnat" not in text
    assert chain(text, "reject-no-endpoints") == ["meta l4proto tcp reject with tcp reset",
                                                  "reject"]
    for hook in ("filter-input", "filter-output", "filter-forward"):
        assert "ip daddr . meta l4proto . th dport @no-endpoints goto reject-no-endpoints" \
            in chain(text, hook)


def test_node_port_on_every_node_address_marks_for_masquerade() -> None:
    text = rules.render([service(node_port=30080)], [eps("10.42.7.2")], CFG)
    ext = "external-default/web/tcp/http"
    assert f"127.0.0.1 . tcp . 30080 : goto {ext}" in text
    assert f"192.168.1.5 . tcp . 30080 : goto {ext}" in text
    assert chain(text, ext) == ["meta mark set meta mark | 0x4000",
                                "goto service-default/web/tcp/http"]
    assert chain(text, "service-default/web/tcp/http") == [
        "goto endpoint-default/web/tcp/http/10.42.7.2/8080"]


@pytest.mark.parametrize("svc", [
    service(ip="None"), service(ip=""), service(type="ExternalName"),
    service(ip="fd00::1")], ids=["headless", "no-ip", "external-name", "ipv6"])
def test_services_without_a_cluster_ip_are_skipped(svc: Obj) -> None:
    assert rules.service_ports([svc], [eps("10.42.7.2")]) == []


def test_terminating_and_duplicate_endpoints() -> None:
    sl = eps("10.42.7.2", "10.42.7.2", "10.42.7.3")
    sl["endpoints"][2]["conditions"] = {"ready": False, "serving": True, "terminating": True}
    del sl["endpoints"][1]["conditions"]            # unset ready means ready
    [sp] = rules.service_ports([service()], [sl])
    assert sp.endpoints == (("10.42.7.2", 8080),)
