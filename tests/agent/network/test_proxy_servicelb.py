"""ServiceLB's choice of which LoadBalancer services get this node's address, and the
socket table it reads (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.agent.network.proxy import listeners, servicelb

Obj = dict[str, Any]
NODE = "192.168.1.5"
PROC_TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0
   2: 0100007F:A1B2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0
"""


def lb(name: str, *ports: int, created: str = "2026-01-01T00:00:00Z", ingress: list[str] = (),
       **spec: Any) -> Obj:
    return {"metadata": {"namespace": "default", "name": name, "creationTimestamp": created},
            "spec": {"type": "LoadBalancer", **spec,
                     "ports": [{"port": p, "protocol": "TCP"} for p in ports]},
            "status": {"loadBalancer": {"ingress": [{"ip": ip} for ip in ingress]}}}


def test_proc_net_listeners_are_parsed() -> None:
    assert listeners.parse(PROC_TCP, "TCP", listeners.TCP_LISTEN) == {
        ("TCP", "127.0.0.1", 8080), ("TCP", "0.0.0.0", 80)}
    sockets = listeners.parse(PROC_TCP, "TCP", listeners.TCP_LISTEN)
    assert listeners.holds(sockets, "TCP", NODE, 80)            # wildcard bind
    assert listeners.holds(sockets, "TCP", "127.0.0.1", 8080)
    assert not listeners.holds(sockets, "TCP", NODE, 8080)
    assert not listeners.holds(sockets, "UDP", NODE, 80)
    v6 = "  sl local\n 0: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A\n"
    assert listeners.parse(v6, "TCP", listeners.TCP_LISTEN) == {("TCP", "::", 8081)}


def test_the_older_service_gets_a_shared_port() -> None:
    young = lb("young", 80, created="2026-01-02T00:00:00Z")
    old = lb("old", 80, 443)
    got = servicelb.plan([young, old, lb("other", 8443)], NODE, set())
    assert got == {"default/old": "", "default/other": "",
                   "default/young": "port 80/TCP is already used by service default/old"}


def test_a_service_holding_the_address_keeps_its_ports() -> None:
    holder = lb("holder", 80, created="2026-01-02T00:00:00Z", ingress=[NODE])
    older = lb("older", 80)
    sockets = {("TCP", "0.0.0.0", 80)}
    got = servicelb.plan([older, holder], NODE, sockets)
    assert got["default/holder"] == ""
    assert got["default/older"].startswith("port 80/TCP is already used by service")


def test_a_listening_socket_keeps_a_service_pending() -> None:
    got = servicelb.plan([lb("web", 8080)], NODE, {("TCP", NODE, 8080)})
    assert got == {"default/web": "port 8080/TCP is already in use by a socket listening on "
                                  "the node"}


@pytest.mark.parametrize("svc", [
    lb("classy", 80, loadBalancerClass="example.com/other"),
    {**lb("plain", 80), "spec": {"type": "NodePort", "ports": [{"port": 80}]}},
    {**lb("going", 80), "metadata": {"namespace": "default", "name": "going",
                                     "deletionTimestamp": "2026-01-01T00:00:00Z"}}],
    ids=["other-class", "not-a-load-balancer", "deleting"])
def test_services_not_ours_are_left_alone(svc: Obj) -> None:
    assert servicelb.plan([svc], NODE, set()) == {}


def test_ingress_keeps_other_nodes_entries() -> None:
    svc = lb("web", 80, ingress=["10.0.0.7", NODE])
    assert servicelb.wanted_ingress(svc, NODE, offer=False) == [{"ip": "10.0.0.7"}]
    assert servicelb.wanted_ingress(lb("web", 80), NODE, offer=True) == [
        {"ip": NODE, "ipMode": "VIP"}]


def test_another_services_node_port_is_taken() -> None:
    np = {"metadata": {"namespace": "default", "name": "np"},
          "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}}
    mine = lb("web", 30080)
    mine["spec"]["ports"][0]["nodePort"] = 30080         # its own node port is no conflict
    assert servicelb.plan([np, lb("other", 30080, created="2026-01-02T00:00:00Z")], NODE,
                          set())["default/other"] == \
        "port 30080/TCP is already used as a node port by service default/np"
    assert servicelb.plan([mine], NODE, set()) == {"default/web": ""}
