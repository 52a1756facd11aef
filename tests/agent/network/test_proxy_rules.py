"""The nft table the proxy writes, from Services and EndpointSlices (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.agent.network.proxy import apply, rules, serviceports

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
    assert serviceports.service_ports([svc], [eps("10.42.7.2")]) == []


def test_terminating_and_duplicate_endpoints() -> None:
    sl = eps("10.42.7.2", "10.42.7.2", "10.42.7.3")
    sl["endpoints"][2]["conditions"] = {"ready": False, "serving": True, "terminating": True}
    del sl["endpoints"][1]["conditions"]            # unset ready means ready
    [sp] = serviceports.service_ports([service()], [sl])
    assert sp.endpoints == (("10.42.7.2", 8080),)


def test_client_ip_affinity_sends_known_clients_back() -> None:
    svc = service(sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})
    text = rules.render([svc], [eps("10.42.7.2", "10.42.7.3")], CFG)
    base = "default/web/tcp/http/10.42.7."
    assert chain(text, "service-default/web/tcp/http")[:2] == [
        f"ip saddr @affinity-{base}2/8080 goto endpoint-{base}2/8080",
        f"ip saddr @affinity-{base}3/8080 goto endpoint-{base}3/8080"]
    assert chain(text, f"endpoint-{base}2/8080")[1] == \
        f"update @affinity-{base}2/8080 {{ ip saddr }}"
    assert f"set affinity-{base}2/8080 {{\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n" \
           "\t\ttimeout 60s\n\t}" in text
    default = rules.render([service(sessionAffinity="ClientIP")], [eps("10.42.7.2")], CFG)
    assert "timeout 10800s" in default
    assert "affinity" not in rules.render([service()], [eps("10.42.7.2")], CFG)


@pytest.mark.parametrize("ingress,reached", [
    ([{"ip": "192.168.1.5", "ipMode": "VIP"}], ["192.168.1.5"]),
    ([{"ip": "192.168.1.5"}, {"ip": "10.0.0.9", "ipMode": "Proxy"}], ["192.168.1.5"]),
    ([{"hostname": "lb.example"}], [])], ids=["vip", "proxy-mode-skipped", "hostname"])
def test_load_balancer_addresses_reach_the_service(ingress: list[Obj], reached: list[str]) -> None:
    svc = service(type="LoadBalancer", node_port=30080)
    svc["status"] = {"loadBalancer": {"ingress": ingress}}
    text = rules.render([svc], [eps("10.42.7.2")], CFG)
    ext = "external-default/web/tcp/http"
    for ip in reached:
        assert f"{ip} . tcp . 80 : goto {ext}" in text
    assert "10.0.0.9" not in text
    dead = rules.render([svc], [], CFG)
    assert all(f"{ip} . tcp . 80" in dead for ip in reached)     # no endpoints: rejected


def test_egress_masquerade_lets_pods_out_as_the_node() -> None:
    cfg = rules.Config("10.42.0.0/16", "10.43.0.0/16", ("127.0.0.1",), egress_masquerade=True)
    text = rules.render([], [], cfg)
    nets = "{ 10.42.0.0/16, 10.43.0.0/16 }"
    assert chain(text, "filter-forward")[-1] == f"ip saddr != 10.42.0.0/16 ip daddr != {nets} drop"
    assert chain(text, "nat-postrouting")[1] == \
        f"ip saddr 10.42.0.0/16 ip daddr != {nets} masquerade"
    assert "ip saddr 10.42.0.0/16 ip daddr" not in rules.render([], [], CFG)


def test_update_keeps_unchanged_affinity_sets_and_drops_stale_parts() -> None:
    sticky = service(sessionAffinity="ClientIP")
    old = rules.render([sticky], [eps("10.42.7.2", "10.42.7.3")], CFG)
    new = rules.render([sticky], [eps("10.42.7.2")], CFG)
    lines = apply.transaction(new, old).splitlines()
    assert lines[:2] == ["add table ip kubelite", "flush table ip kubelite"]
    base = "default/web/tcp/http/10.42.7."
    assert f"delete set ip kubelite affinity-{base}3/8080" in lines
    assert f"delete chain ip kubelite endpoint-{base}3/8080" in lines
    assert f"delete set ip kubelite affinity-{base}2/8080" not in lines
    assert "delete map ip kubelite service-ips" in lines     # redeclared with its elements
    assert not any(line.startswith("delete chain ip kubelite nat-") for line in lines)
    assert lines.index("delete map ip kubelite service-ips") < lines.index(
        f"delete chain ip kubelite endpoint-{base}3/8080")
    first = apply.transaction(new)
    assert first.startswith("add table ip kubelite\ndelete table ip kubelite\n")


def test_guard_narrowed_to_the_pod_bridge() -> None:
    cfg = rules.Config("10.42.0.0/16", "10.43.0.0/16", guard_interface="kubelite0")
    assert chain(rules.render([], [], cfg), "filter-forward")[-1] == \
        'iifname "kubelite0" ip daddr != { 10.42.0.0/16, 10.43.0.0/16 } drop'


def test_external_ips_reach_the_service_like_load_balancer_addresses() -> None:
    svc = service(externalIPs=["192.168.1.9", "fd00::9"])
    text = rules.render([svc], [eps("10.42.7.2")], CFG)
    assert "192.168.1.9 . tcp . 80 : goto external-default/web/tcp/http" in text
    assert "fd00::9" not in text


def on_nodes(sl: Obj, *nodes: str) -> Obj:
    for ep, node in zip(sl["endpoints"], nodes):
        ep["nodeName"] = node
    return sl


def test_external_traffic_policy_local_keeps_to_this_node_and_the_client_address() -> None:
    cfg = rules.Config("10.42.0.0/16", "10.43.0.0/16", ("127.0.0.1",), node_name="me")
    svc = service(node_port=30080, externalTrafficPolicy="Local")
    text = rules.render([svc], [on_nodes(eps("10.42.7.2", "10.42.8.2"), "me", "other")], cfg)
    assert chain(text, "service-default/web/tcp/http")[0].startswith("numgen random mod 2")
    assert chain(text, "external-default/web/tcp/http") == [
        "ip saddr 127.0.0.0/8 meta mark set meta mark | 0x4000",
        "goto endpoint-default/web/tcp/http/10.42.7.2/8080"]
    elsewhere = rules.render([svc], [on_nodes(eps("10.42.8.2"), "other")], cfg)
    assert "127.0.0.1 . tcp . 30080 : drop" in elsewhere           # none here: drop
    assert "10.43.0.50 . tcp . 80 : goto service-default/web/tcp/http" in elsewhere


def test_internal_traffic_policy_local_keeps_to_this_node() -> None:
    cfg = rules.Config("10.42.0.0/16", "10.43.0.0/16", node_name="me")
    svc = service(internalTrafficPolicy="Local")
    text = rules.render([svc], [on_nodes(eps("10.42.7.2", "10.42.8.2"), "me", "other")], cfg)
    assert chain(text, "service-default/web/tcp/http") == [
        "goto endpoint-default/web/tcp/http/10.42.7.2/8080"]
    elsewhere = rules.render([svc], [on_nodes(eps("10.42.8.2"), "other")], cfg)
    assert "10.43.0.50 . tcp . 80 : drop" in elsewhere
    assert "no-endpoints" in elsewhere and "10.43.0.50 . tcp . 80 }" not in elsewhere
