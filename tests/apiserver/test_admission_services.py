"""Service clusterIP and nodePort allocation through the real write pipeline over SQLite."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from kubelite.api import errors
from kubelite.apiserver import admission_services, context
from kubelite.apiserver.handlers import write
from tests.apiserver import conftest
from tests.apiserver.conftest import OPTS

Obj = dict[str, Any]
RANGE = ipaddress.ip_network("10.43.0.0/16")


def svc(name: str, type_: str = "ClusterIP", **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": type_, "selector": {"app": name},
                     "ports": [{"port": 80}], **spec}}


async def create(c: context.Context, obj: Obj) -> Obj:
    rt = c.registry.lookup("", "v1", "services")
    assert rt is not None
    stored, _ = await write.create_object(c, rt, obj, "default", OPTS)
    return stored


async def update(c: context.Context, name: str, change: Any) -> Obj:
    return await conftest.update(c, ("", "v1", "services"), name, change)


async def test_concurrent_creates_get_distinct_addresses_and_ports(ctx) -> None:  # type: ignore[no-untyped-def]
    made = await asyncio.gather(*(create(ctx, svc(f"s{i}", "NodePort")) for i in range(40)))
    ips = [s["spec"]["clusterIP"] for s in made]
    ports = [s["spec"]["ports"][0]["nodePort"] for s in made]
    assert len(set(ips)) == 40 and len(set(ports)) == 40
    assert all(ipaddress.ip_address(ip) in RANGE and ip != "10.43.0.1" for ip in ips)
    assert all(30000 <= p <= 32767 for p in ports)
    assert all(s["spec"]["clusterIPs"] == [s["spec"]["clusterIP"]] for s in made)


@pytest.mark.parametrize("spec, message", [
    ({"clusterIP": "10.43.9.9"}, ('spec.clusterIPs: Invalid value: []string{"10.43.9.9"}: '
                                 "failed to allocate IP 10.43.9.9: provided IP is already allocated")),
    ({"clusterIP": "10.0.0.5"}, ("the provided IP (10.0.0.5) is not in the valid range. "
                                "The range of valid IPs is 10.43.0.0/16")),
    ({"clusterIP": "10.43.0.1"}, "provided IP is already allocated"),
    ({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]},
     "spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated"),
], ids=["ip-taken", "ip-out-of-range", "ip-of-kubernetes-service", "node-port-taken"])
async def test_taken_or_foreign_values_are_422(ctx, spec: Obj, message: str) -> None:  # type: ignore[no-untyped-def]
    await create(ctx, svc("first", "NodePort", clusterIP="10.43.9.9",
                          ports=[{"port": 80, "nodePort": 30080}]))
    with pytest.raises(errors.Invalid) as info:
        await create(ctx, {**svc("second"), "spec": {**svc("second")["spec"], **spec}})
    assert info.value.code == 422
    assert message in str(info.value)


@pytest.mark.parametrize("spec, want_ip", [
    ({"clusterIP": "None"}, "None"),
    ({"clusterIP": "10.43.7.7"}, "10.43.7.7"),
    ({"clusterIPs": ["10.43.7.8"]}, "10.43.7.8"),
], ids=["headless", "explicit", "explicit-via-clusterIPs"])
async def test_requested_addresses(ctx, spec: Obj, want_ip: str) -> None:  # type: ignore[no-untyped-def]
    made = await create(ctx, svc("a", **spec))
    assert made["spec"]["clusterIP"] == want_ip
    assert made["spec"]["clusterIPs"] == [want_ip]


async def test_external_name_gets_no_address_or_port(ctx) -> None:  # type: ignore[no-untyped-def]
    made = await create(ctx, {"metadata": {"name": "ext"},
                              "spec": {"type": "ExternalName", "externalName": "example.com"}})
    assert "clusterIP" not in made["spec"] and "clusterIPs" not in made["spec"]


async def test_update_keeps_address_and_node_port_the_client_left_out(ctx) -> None:  # type: ignore[no-untyped-def]
    made = await create(ctx, svc("a", "NodePort"))

    def drop(current: Obj) -> None:
        current["spec"].pop("clusterIP")
        current["spec"].pop("clusterIPs")
        current["spec"]["ports"] = [{"port": 80}]

    updated = await update(ctx, "a", drop)
    assert updated["spec"]["clusterIP"] == made["spec"]["clusterIP"]
    assert updated["spec"]["ports"][0]["nodePort"] == made["spec"]["ports"][0]["nodePort"]


async def test_changing_the_address_is_rejected(ctx) -> None:  # type: ignore[no-untyped-def]
    await create(ctx, svc("a", clusterIP="10.43.5.5"))
    with pytest.raises(errors.Invalid, match="may not change once set"):
        await update(ctx, "a", lambda cur: cur["spec"].update(clusterIP="10.43.5.6",
                                                               clusterIPs=["10.43.5.6"]))


async def test_type_change_to_node_port_allocates_ports(ctx) -> None:  # type: ignore[no-untyped-def]
    made = await create(ctx, svc("a"))
    updated = await update(ctx, "a", lambda cur: cur["spec"].update(type="NodePort"))
    assert updated["spec"]["clusterIP"] == made["spec"]["clusterIP"]
    assert 30000 <= updated["spec"]["ports"][0]["nodePort"] <= 32767


async def test_deleting_a_service_frees_its_address(ctx) -> None:  # type: ignore[no-untyped-def]
    await create(ctx, svc("a", clusterIP="10.43.3.3"))
    rt = ctx.registry.lookup("", "v1", "services")
    await ctx.objects.delete(rt, "default", "a")
    made = await create(ctx, svc("b", clusterIP="10.43.3.3"))
    assert made["spec"]["clusterIP"] == "10.43.3.3"


async def test_same_port_number_over_two_protocols_shares_a_node_port(ctx) -> None:  # type: ignore[no-untyped-def]
    made = await create(ctx, svc("dns", "NodePort", ports=[
        {"name": "udp", "port": 53, "protocol": "UDP"}, {"name": "tcp", "port": 53}]))
    udp, tcp = made["spec"]["ports"]
    assert udp["nodePort"] == tcp["nodePort"]


def test_configure_changes_the_range() -> None:
    try:
        admission_services.configure("10.96.0.0/24")
        assert admission_services.CONFIG.first_ip == "10.96.0.1"
        ip = admission_services.pick_ip(set())
        assert ipaddress.ip_address(ip) in ipaddress.ip_network("10.96.0.0/24")
        assert ip not in ("10.96.0.0", "10.96.0.1", "10.96.0.255")
    finally:
        admission_services.configure()


def test_full_ranges_are_server_errors() -> None:
    try:
        admission_services.configure("10.96.0.0/30")  # .0 network, .1 reserved, .3 broadcast
        assert admission_services.pick_ip(set()) == "10.96.0.2"
        with pytest.raises(errors.InternalError, match="range is full"):
            admission_services.pick_ip({"10.96.0.2"})
    finally:
        admission_services.configure()
