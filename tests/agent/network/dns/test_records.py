"""The zone answers the record shapes of the Kubernetes DNS specification."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.agent.network.dns import answers, records


def svc(name: str, ns: str = "default", *, ip: str | list[str] = "10.43.0.10",
        ports: list[dict[str, Any]] | None = None, **spec: Any) -> dict[str, Any]:
    ips = ip if isinstance(ip, list) else [ip]
    spec = {"clusterIP": ips[0], "clusterIPs": ips, "ports": ports or [], **spec}
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def eps(service: str, name: str = "", ns: str = "default", *,
        endpoints: list[dict[str, Any]], ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name or f"{service}-abc", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": service}},
            "addressType": "IPv4", "endpoints": endpoints, "ports": ports or []}


def pod(name: str, ip: str, ns: str = "default", *, hostname: str = "", subdomain: str = "",
        ready: bool = True) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"hostname": hostname, "subdomain": subdomain},
            "status": {"podIP": ip, "podIPs": [{"ip": ip}],
                       "conditions": [{"type": "Ready", "status": str(ready)}]}}


HTTP = [{"name": "http", "port": 80, "protocol": "TCP"}, {"port": 9000}]


@pytest.fixture
def zone() -> records.Zone:
    z = records.Zone()
    z.upsert_service(svc("web", ports=HTTP))
    z.upsert_service(svc("dual", ip=["10.43.0.11", "fd00::11"]))
    z.upsert_service(svc("db", ip="None", ports=[{"name": "pg", "port": 5432}]))
    z.upsert_slice(eps("db", endpoints=[
        {"addresses": ["10.42.0.5"], "hostname": "db-0", "conditions": {"ready": True}},
        {"addresses": ["10.42.0.6"]},
        {"addresses": ["10.42.0.7"], "conditions": {"ready": False}}],
        ports=[{"name": "pg", "port": 5432, "protocol": "TCP"}]))
    z.upsert_service(svc("empty", ip="None"))
    z.upsert_service(svc("ext", ip="", type="ExternalName", externalName="example.org"))
    z.upsert_service(svc("pets", "other", ip="None"))
    z.upsert_pod(pod("cat", "10.42.1.9", "other", hostname="cat", subdomain="pets"))
    z.upsert_pod(pod("dog", "10.42.1.10", "other", hostname="dog", subdomain="pets", ready=False))
    return z


def rows(answer: answers.Answer) -> list[tuple[str, str, Any]]:
    return sorted((r.name, r.rtype, r.data) for r in answer.answer)


CASES = [
    ("cluster-ip", "web.default.svc.cluster.local.", "A", 0,
     [("web.default.svc.cluster.local", "A", "10.43.0.10")]),
    ("case-insensitive", "WEB.Default.SVC.cluster.LOCAL", "A", 0,
     [("web.default.svc.cluster.local", "A", "10.43.0.10")]),
    ("dual-stack-aaaa", "dual.default.svc.cluster.local", "AAAA", 0,
     [("dual.default.svc.cluster.local", "AAAA", "fd00::11")]),
    ("v4-only-aaaa-is-nodata", "web.default.svc.cluster.local", "AAAA", 0, []),
    ("headless-ready-endpoints", "db.default.svc.cluster.local", "A", 0,
     [("db.default.svc.cluster.local", "A", "10.42.0.5"),
      ("db.default.svc.cluster.local", "A", "10.42.0.6")]),
    ("headless-endpoint-hostname", "db-0.db.default.svc.cluster.local", "A", 0,
     [("db-0.db.default.svc.cluster.local", "A", "10.42.0.5")]),
    ("headless-endpoint-dashed", "10-42-0-6.db.default.svc.cluster.local", "A", 0,
     [("10-42-0-6.db.default.svc.cluster.local", "A", "10.42.0.6")]),
    ("headless-unready-endpoint", "10-42-0-7.db.default.svc.cluster.local", "A", 3, []),
    ("headless-without-endpoints", "empty.default.svc.cluster.local", "A", 3, []),
    ("srv-cluster-ip", "_http._tcp.web.default.svc.cluster.local", "SRV", 0,
     [("_http._tcp.web.default.svc.cluster.local", "SRV",
       (0, 100, 80, "web.default.svc.cluster.local"))]),
    ("srv-wrong-proto", "_http._udp.web.default.svc.cluster.local", "SRV", 3, []),
    ("srv-name-asked-for-a", "_http._tcp.web.default.svc.cluster.local", "A", 0, []),
    ("srv-unknown-port", "_nope._tcp.web.default.svc.cluster.local", "SRV", 3, []),
    ("srv-headless", "_pg._tcp.db.default.svc.cluster.local", "SRV", 0,
     [("_pg._tcp.db.default.svc.cluster.local", "SRV",
       (0, 100, 5432, "10-42-0-6.db.default.svc.cluster.local")),
      ("_pg._tcp.db.default.svc.cluster.local", "SRV",
       (0, 100, 5432, "db-0.db.default.svc.cluster.local"))]),
    ("srv-service-name", "web.default.svc.cluster.local", "SRV", 0,
     [("web.default.svc.cluster.local", "SRV", (0, 100, 80, "web.default.svc.cluster.local"))]),
    ("pod-hostname-subdomain", "cat.pets.other.svc.cluster.local", "A", 0,
     [("cat.pets.other.svc.cluster.local", "A", "10.42.1.9")]),
    ("unready-pod-hostname", "dog.pets.other.svc.cluster.local", "A", 3, []),
    ("pod-dashed", "10-42-1-9.other.pod.cluster.local", "A", 0,
     [("10-42-1-9.other.pod.cluster.local", "A", "10.42.1.9")]),
    ("pod-dashed-v6", "fd00--9.other.pod.cluster.local", "AAAA", 0,
     [("fd00--9.other.pod.cluster.local", "AAAA", "fd00::9")]),
    ("pod-not-an-address", "cat.other.pod.cluster.local", "A", 3, []),
    ("external-name", "ext.default.svc.cluster.local", "A", 0,
     [("ext.default.svc.cluster.local", "CNAME", "example.org")]),
    ("missing-service", "nope.default.svc.cluster.local", "A", 3, []),
    ("missing-namespace", "nope.svc.cluster.local", "A", 3, []),
    ("namespace-exists", "default.svc.cluster.local", "A", 0, []),
    ("search-path-miss", "example.com.default.svc.cluster.local", "A", 3, []),
    ("dns-version", "dns-version.cluster.local", "TXT", 0,
     [("dns-version.cluster.local", "TXT", answers.SCHEMA_VERSION)]),
    ("ptr-cluster-ip", "10.0.43.10.in-addr.arpa.", "PTR", 0,
     [("10.0.43.10.in-addr.arpa", "PTR", "web.default.svc.cluster.local")]),
    ("ptr-headless-endpoint", "5.0.42.10.in-addr.arpa", "PTR", 0,
     [("5.0.42.10.in-addr.arpa", "PTR", "db-0.db.default.svc.cluster.local")]),
    ("ptr-v6", "1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", "PTR", 0,
     [("1.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa", "PTR", "dual.default.svc.cluster.local")]),
    ("ptr-unknown-address", "9.9.9.9.in-addr.arpa", "PTR", 5, []),
    ("ptr-malformed", "x.0.43.10.in-addr.arpa", "PTR", 5, []),
    ("not-in-zone", "example.com", "A", 5, []),
    ("bare-short-name", "web", "A", 5, []),
    ("other-domain-suffix", "web.default.svc.cluster.localx", "A", 5, []),
]


@pytest.mark.parametrize("qname,qtype,rcode,want", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_lookup(zone: records.Zone, qname: str, qtype: str, rcode: int, want: list[Any]) -> None:
    got = zone.lookup(qname, qtype)
    assert (got.rcode, rows(got)) == (rcode, sorted(want))
    if rcode != answers.REFUSED and not want:
        # Negative answers name the zone's SOA so resolvers may cache them (RFC 2308).
        assert [r.rtype for r in got.authority] == ["SOA"]
        assert got.authority[0].data[2][4] == zone.ttl


def test_srv_additional_has_target_addresses(zone: records.Zone) -> None:
    got = zone.lookup("_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert sorted((r.name, r.data) for r in got.additional) == [
        ("10-42-0-6.db.default.svc.cluster.local", "10.42.0.6"),
        ("db-0.db.default.svc.cluster.local", "10.42.0.5")]


def test_search_path_expands_short_names(zone: records.Zone) -> None:
    """A pod's resolver tries its search domains in order; the first hit wins."""
    def resolve(short: str, ns: str) -> list[Any]:
        for suffix in records.search_domains(ns):
            got = zone.lookup(f"{short}.{suffix}", "A")
            if got.rcode == answers.NOERROR and got.answer:
                return [r.data for r in got.answer]
        return []

    assert resolve("web", "default") == ["10.43.0.10"]
    assert resolve("web.default", "other") == ["10.43.0.10"]
    assert resolve("web.default.svc", "other") == ["10.43.0.10"]
    assert resolve("web", "other") == []


def test_updates_and_deletes(zone: records.Zone) -> None:
    before = zone.generation
    zone.delete_service(svc("web"))
    assert zone.lookup("web.default.svc.cluster.local", "A").rcode == answers.NXDOMAIN
    zone.upsert_slice(eps("db", endpoints=[{"addresses": ["10.42.0.8"]}]))
    got = zone.lookup("db.default.svc.cluster.local", "A")
    assert [r.data for r in got.answer] == ["10.42.0.8"]
    zone.delete_slice(eps("db", endpoints=[]))
    assert zone.lookup("db.default.svc.cluster.local", "A").rcode == answers.NXDOMAIN
    zone.upsert_pod(pod("dog", "10.42.1.10", "other", hostname="dog", subdomain="pets"))
    assert rows(zone.lookup("dog.pets.other.svc.cluster.local", "A")) == [
        ("dog.pets.other.svc.cluster.local", "A", "10.42.1.10")]
    assert zone.generation > before


def test_publish_not_ready_addresses() -> None:
    z = records.Zone(domain="example.internal")
    z.upsert_service(svc("db", ip="None", publishNotReadyAddresses=True))
    z.upsert_slice(eps("db", endpoints=[{"addresses": ["10.42.0.7"], "conditions": {"ready": False}}]))
    assert rows(z.lookup("db.default.svc.example.internal", "A")) == [
        ("db.default.svc.example.internal", "A", "10.42.0.7")]
    assert z.lookup("db.default.svc.cluster.local", "A").rcode == answers.REFUSED


@pytest.mark.parametrize("qtype,rtype", [("SOA", "SOA"), ("NS", "NS")], ids=["soa", "ns"])
def test_apex(zone: records.Zone, qtype: str, rtype: str) -> None:
    got = zone.lookup("cluster.local.", qtype)
    assert [(r.name, r.rtype) for r in got.answer] == [("cluster.local", rtype)]
