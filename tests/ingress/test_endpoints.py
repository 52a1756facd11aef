"""Service -> EndpointSlices -> ready addresses, and round-robin over them."""

from __future__ import annotations

from typing import Any

from kubelite.ingress import endpoints, routes

Obj = dict[str, Any]


def service(name: str = "web", ports: list[Obj] | None = None, **spec: Any) -> Obj:
    return {"metadata": {"name": name, "namespace": "ns"},
            "spec": {"ports": ports if ports is not None else
                     [{"name": "http", "port": 80, "targetPort": "web"}], **spec}}


def slice_(name: str, port: int, *eps: tuple[str, bool | None], port_name: str = "http") -> Obj:
    return {"metadata": {"name": name, "namespace": "ns",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {} if ready is None
                           else {"ready": ready}} for ip, ready in eps]}


def backend(port: int | str = 80) -> routes.Backend:
    return routes.Backend("ns", "web", port, "ns/ing")


def test_ready_endpoints_with_the_slice_port() -> None:
    got = endpoints.resolve(backend(), service(), [
        slice_("b", 8080, ("10.42.0.3", True), ("10.42.0.4", False)),
        slice_("a", 8080, ("10.42.0.2", None))])
    assert got.addresses == (("10.42.0.2", 8080), ("10.42.0.3", 8080))


def test_named_service_port() -> None:
    got = endpoints.resolve(backend("http"), service(), [slice_("a", 9000, ("10.42.0.2", True))])
    assert got.addresses == (("10.42.0.2", 9000),)


def test_unnamed_port_matches_unnamed_slice_port() -> None:
    svc = service(ports=[{"port": 80, "targetPort": 8080}])
    got = endpoints.resolve(backend(), svc, [slice_("a", 8080, ("10.42.0.2", True),
                                                    port_name="")])
    assert got.addresses == (("10.42.0.2", 8080),)


def test_missing_service_and_port_are_reasons() -> None:
    assert endpoints.resolve(backend(), None, []).reason == "ServiceNotFound"
    missing_port = endpoints.resolve(backend(81), service(), [])
    assert missing_port.reason == "ServicePortNotFound"
    assert "no port 81" in missing_port.problem


def test_no_ready_endpoints_is_not_an_ingress_mistake() -> None:
    got = endpoints.resolve(backend(), service(), [slice_("a", 8080, ("10.42.0.2", False))])
    assert got.addresses == () and got.reason == "" and "no ready endpoints" in got.problem


def test_external_name_is_not_served() -> None:
    got = endpoints.resolve(backend(), service(type="ExternalName"), [])
    assert got.addresses == () and "ExternalName" in got.problem


def test_round_robin_and_invalidation() -> None:
    slices = [slice_("a", 8080, ("10.42.0.2", True), ("10.42.0.3", True))]
    bal = endpoints.Balancer(lambda key: service(), lambda key: slices)
    picks = [bal.pick(backend())[1] for _ in range(4)]
    assert picks == [("10.42.0.2", 8080), ("10.42.0.3", 8080)] * 2
    slices[:] = [slice_("a", 8080, ("10.42.0.9", True))]
    assert bal.pick(backend())[1] == ("10.42.0.2", 8080)  # cached until told
    bal.invalidate("ns/web")
    assert bal.pick(backend())[1] == ("10.42.0.9", 8080)
