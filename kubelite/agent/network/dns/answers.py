"""Answering one question from a `records.Zone`, with the record shapes of the Kubernetes
DNS specification (and CoreDNS's kubernetes plugin where the specification is silent):

    <svc>.<ns>.svc.<zone>                      A/AAAA cluster IPs, or ready endpoint IPs if headless
    <host>.<svc>.<ns>.svc.<zone>               A/AAAA of a headless service's endpoint
    _<port>._<proto>.<svc>.<ns>.svc.<zone>     SRV per named port (per endpoint if headless)
    <a-b-c-d>.<ns>.pod.<zone>                  A of the dashed address ("pods insecure")
    <d>.<c>.<b>.<a>.in-addr.arpa (and ip6.arpa)  PTR of service and headless endpoint addresses
    dns-version.<zone>                         TXT schema version
    <zone>                                     SOA, NS

A name that does not exist is NXDOMAIN, one that exists without that type is NODATA; both
carry the zone's SOA in the authority section. Names outside the zone are REFUSED here.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubelite.agent.network.dns import names

if TYPE_CHECKING:
    from kubelite.agent.network.dns import records

NOERROR, NXDOMAIN, REFUSED = 0, 3, 5
SCHEMA_VERSION = "1.1.0"
ADDRESS_TYPES = ("A", "AAAA")


@dataclass(frozen=True)
class Record:
    name: str
    rtype: str  # "A", "AAAA", "SRV", "CNAME", "PTR", "TXT", "SOA", "NS"
    ttl: int
    data: Any  # str, or (priority, weight, port, target) for SRV, or SOA's tuple


@dataclass(frozen=True)
class Answer:
    rcode: int
    answer: tuple[Record, ...] = ()
    authority: tuple[Record, ...] = ()
    additional: tuple[Record, ...] = ()

    @property
    def in_zone(self) -> bool:
        return self.rcode != REFUSED


def lookup(zone: records.Zone, qname: str, qtype: str) -> Answer:
    name = qname.strip(".").lower()
    if name == zone.domain:
        return _apex(zone, qtype)
    suffix = "." + zone.domain
    if not name.endswith(suffix):
        return _ptr(zone, name, qtype)
    labels = name[: -len(suffix)].split(".")
    if labels[-1] == "svc":
        return _svc(zone, labels[:-1], qtype)
    if labels[-1] == "pod":
        return _pod(zone, labels[:-1], qtype)
    if labels == ["dns-version"]:
        rec = Record(name, "TXT", zone.ttl, SCHEMA_VERSION)
        return _records(zone, [rec] if qtype == "TXT" else [], exists=True)
    return _negative(zone, NXDOMAIN)


def _ptr(zone: records.Zone, name: str, qtype: str) -> Answer:
    """PTR of cluster addresses; any other name (or unknown address) is not ours: REFUSED."""
    addr = names.unreversed(name)
    targets = zone.reverse(addr) if addr else []
    if not targets:
        return Answer(REFUSED)
    recs = [Record(name, "PTR", zone.ttl, t) for t in targets if qtype in ("PTR", "ANY")]
    return _records(zone, recs, exists=True)


def soa(zone: records.Zone) -> Record:
    d = zone.domain
    times = (zone.generation, 7200, 1800, 86400, zone.ttl)
    return Record(d, "SOA", zone.ttl, (f"ns.dns.{d}", f"hostmaster.{d}", times))


def _negative(zone: records.Zone, rcode: int) -> Answer:
    return Answer(rcode, authority=(soa(zone),))


def _records(zone: records.Zone, recs: list[Record], *, exists: bool,
             additional: list[Record] | None = None) -> Answer:
    if recs:
        return Answer(NOERROR, tuple(recs), additional=tuple(additional or ()))
    return _negative(zone, NOERROR if exists else NXDOMAIN)


def _apex(zone: records.Zone, qtype: str) -> Answer:
    if qtype == "SOA":
        return Answer(NOERROR, (soa(zone),))
    if qtype == "NS":
        return Answer(NOERROR, (Record(zone.domain, "NS", zone.ttl, f"ns.dns.{zone.domain}"),))
    return _negative(zone, NOERROR)


def _svc(zone: records.Zone, labels: list[str], qtype: str) -> Answer:
    """Names under svc.<zone>: labels are what precedes it, e.g. [name, ns]."""
    if labels == [""]:
        return _negative(zone, NOERROR)  # svc.<zone> itself
    if len(labels) == 1:
        return _negative(zone, NOERROR if zone.has_namespace(labels[0]) else NXDOMAIN)
    *prefix, svc, ns = labels
    service = zone.services.get((ns, svc))
    if service is None:
        return _negative(zone, NXDOMAIN)
    fqdn = f"{svc}.{ns}.svc.{zone.domain}"
    if not prefix:
        return _service(zone, ns, svc, qtype)
    if len(prefix) == 2 and prefix[0].startswith("_") and prefix[1].startswith("_"):
        got = _srv(zone, ns, svc, prefix[0][1:], prefix[1][1:])
        return got if qtype in ("SRV", "ANY") or not got.answer else _negative(zone, NOERROR)
    if len(prefix) == 1 and prefix[0].startswith("_"):
        protos = {p.protocol for p in service.ports if p.name}
        return _negative(zone, NOERROR if prefix[0][1:] in protos else NXDOMAIN)
    if len(prefix) == 1 and service.kind == "headless":
        addrs = [a for host, a, _ in zone.endpoints(ns, svc) if host == prefix[0]]
        recs = _address_records(zone, f"{prefix[0]}.{fqdn}", addrs, qtype)
        return _records(zone, recs, exists=bool(addrs))
    return _negative(zone, NXDOMAIN)


def _service(zone: records.Zone, ns: str, svc: str, qtype: str) -> Answer:
    service = zone.services[(ns, svc)]
    fqdn = f"{svc}.{ns}.svc.{zone.domain}"
    if service.kind == "external":
        return Answer(NOERROR, (Record(fqdn, "CNAME", zone.ttl, service.external_name),))
    if qtype == "SRV":
        return _srv(zone, ns, svc, "", "")
    if service.kind == "cluster":
        return _records(zone, _address_records(zone, fqdn, service.cluster_ips, qtype), exists=True)
    addrs = [a for _, a, _ in zone.endpoints(ns, svc)]
    # A headless service without ready endpoints does not exist (specification 2.4.1).
    return _records(zone, _address_records(zone, fqdn, addrs, qtype), exists=bool(addrs))


def _srv(zone: records.Zone, ns: str, svc: str, port: str, proto: str) -> Answer:
    """SRV for named ports matching port/proto ("" matches any), targets' addresses additional."""
    service = zone.services[(ns, svc)]
    fqdn = f"{svc}.{ns}.svc.{zone.domain}"

    def wanted(p: records.Port) -> bool:
        return bool(p.name) and port in ("", p.name) and proto in ("", p.protocol)

    recs: list[Record] = []
    extra: list[Record] = []
    qname = f"_{port}._{proto}.{fqdn}" if port else fqdn
    if service.kind == "cluster":
        for p in filter(wanted, service.ports):
            recs.append(Record(qname, "SRV", zone.ttl, (0, 100, p.port, fqdn)))
        extra = _address_records(zone, fqdn, service.cluster_ips, "") if recs else []
    elif service.kind == "headless":
        for host, addr, ports in zone.endpoints(ns, svc):
            target = f"{host}.{fqdn}"
            hits = [Record(qname, "SRV", zone.ttl, (0, 100, p.port, target)) for p in ports if wanted(p)]
            recs.extend(hits)
            extra.extend(_address_records(zone, target, [addr], "") if hits else [])
    exists = not port or any(wanted(p) for p in service.ports)
    return _records(zone, _unique(recs), exists=exists, additional=_unique(extra))


def _pod(zone: records.Zone, labels: list[str], qtype: str) -> Answer:
    if labels == [""]:
        return _negative(zone, NOERROR)
    if len(labels) != 2:
        return _negative(zone, NXDOMAIN)
    addr = names.undashed(labels[0])
    if addr is None:
        return _negative(zone, NXDOMAIN)
    name = f"{labels[0]}.{labels[1]}.pod.{zone.domain}"
    return _records(zone, _address_records(zone, name, [addr], qtype), exists=True)


def _address_records(zone: records.Zone, name: str, addrs: Any, qtype: str) -> list[Record]:
    """A/AAAA records of the addresses matching qtype ("" for both families)."""
    out = []
    for addr in addrs:
        rtype = "A" if ipaddress.ip_address(addr).version == 4 else "AAAA"
        if qtype in ("", "ANY", rtype):
            out.append(Record(name, rtype, zone.ttl, addr))
    return out


def _unique(recs: list[Record]) -> list[Record]:
    return list(dict.fromkeys(recs))
