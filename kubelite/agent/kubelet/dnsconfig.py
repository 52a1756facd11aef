"""A pod's resolver configuration (/etc/resolv.conf) from its dnsPolicy and dnsConfig.

Follows the kubelet: ClusterFirst points at the cluster DNS with the cluster search path
and ndots:5; Default copies the node's resolv.conf; None starts empty; spec.dnsConfig is
merged on top; the result is cut to resolver limits (3 nameservers, 32 search domains,
2048 characters of search line, no domain over 253 characters).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from kubelite.agent.runtime import protocol
from kubelite.client import events

Obj = dict[str, Any]
MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_SEARCH_CHARS = 2048
MAX_DOMAIN = 253
CLUSTER_OPTIONS = ("ndots:5",)


@dataclass(frozen=True)
class Settings:
    """The kubelet's --cluster-dns, --cluster-domain and --resolv-conf."""

    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    resolv_conf: str = "/etc/resolv.conf"   # "" = the node has none: use 127.0.0.1


def parse_resolv_conf(text: str) -> protocol.DNSConfig:
    """Nameservers accumulate; the last search and options lines win."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if fields[0] == "nameserver" and len(fields) >= 2:
            servers.append(fields[1])
        elif fields[0] == "search":
            searches = [s.removesuffix(".") for s in fields[1:]]
        elif fields[0] == "options":
            options = fields[1:]
    return protocol.DNSConfig(tuple(servers), tuple(searches), tuple(options))


def read_host(settings: Settings) -> protocol.DNSConfig:
    """The node's resolver configuration, the base every policy but None starts from."""
    if not settings.resolv_conf:
        return protocol.DNSConfig(("127.0.0.1",), (".",), ())
    try:
        with open(settings.resolv_conf, encoding="utf-8", errors="replace") as f:
            return parse_resolv_conf(f.read(10 << 20))
    except FileNotFoundError:
        return protocol.DNSConfig((), (), ())


def policy_type(spec: Obj) -> str:
    """"cluster", "host" or "none": what the pod's dnsPolicy asks for."""
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if policy == "None":
        return "none"
    if policy == "ClusterFirstWithHostNet":
        return "cluster"
    if policy == "ClusterFirst" and not spec.get("hostNetwork"):
        return "cluster"
    if policy in ("ClusterFirst", "Default"):
        return "host"
    return "cluster"


def for_pod(pod: Obj, settings: Settings, host: protocol.DNSConfig
            ) -> tuple[protocol.DNSConfig, list[tuple[str, str]]]:
    """The pod's DNSConfig and the warnings (reason, message) forming it raised."""
    spec = pod.get("spec") or {}
    warnings: list[tuple[str, str]] = []
    kind = policy_type(spec)
    dns = host
    if kind == "none":
        dns = protocol.DNSConfig((), (), ())
    elif kind == "cluster" and settings.cluster_dns:
        dns = protocol.DNSConfig(settings.cluster_dns, _cluster_searches(
            pod, settings.cluster_domain, host.searches), CLUSTER_OPTIONS)
    elif kind == "cluster":
        warnings.append(("MissingClusterDNS", ("kubelet does not have ClusterDNS IP configured "
                         'and cannot create Pod using "ClusterFirst" policy. Falling back to '
                         '"Default" policy.')))
    if spec.get("dnsConfig") is not None:
        dns = merge(dns, spec["dnsConfig"])
    return _fit(dns, warnings), warnings


def _cluster_searches(pod: Obj, domain: str, host: tuple[str, ...]) -> tuple[str, ...]:
    if not domain:
        return host
    ns = pod["metadata"].get("namespace") or "default"
    return _unique((f"{ns}.svc.{domain}", f"svc.{domain}", domain, *host))


def merge(dns: protocol.DNSConfig, extra: Obj) -> protocol.DNSConfig:
    """spec.dnsConfig on top: nameservers and searches appended, options replaced by name."""
    opts: dict[str, str | None] = {}
    for op in dns.options:
        name, sep, value = op.partition(":")
        opts[name] = value if sep else None
    for op in extra.get("options") or []:
        opts[op.get("name") or ""] = op.get("value")
    return protocol.DNSConfig(
        _unique((*dns.servers, *(extra.get("nameservers") or []))),
        _unique((*dns.searches, *(extra.get("searches") or []))),
        tuple(f"{n}:{v}" if v else n for n, v in opts.items()))


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _fit(dns: protocol.DNSConfig, warnings: list[tuple[str, str]]) -> protocol.DNSConfig:
    servers = dns.servers
    if len(servers) > MAX_NAMESERVERS:
        servers = servers[:MAX_NAMESERVERS]
        warnings.append(("DNSConfigForming", "Nameserver limits were exceeded, some nameservers "
                         "have been omitted, the applied nameserver line is: "
                         + " ".join(servers)))
    searches = dns.searches[:MAX_SEARCHES]
    searches = tuple(s for s in searches if len(s) <= MAX_DOMAIN)
    while len(" ".join(searches)) > MAX_SEARCH_CHARS:
        searches = searches[:-1]
    if searches != dns.searches:
        warnings.append(("DNSConfigForming", "Search Line limits were exceeded, some search "
                         "paths have been omitted, the applied search line is: "
                         + " ".join(searches)))
    return dataclasses.replace(dns, servers=servers, searches=searches)


def sandbox_dns(pod: Obj, settings: Settings, recorder: events.Recorder | None
                ) -> protocol.DNSConfig:
    """for_pod on the node's current resolv.conf, with its warnings as pod events."""
    dns, warnings = for_pod(pod, settings, read_host(settings))
    for reason, message in warnings:
        if recorder is not None:
            recorder.event(pod, "Warning", reason, message)
    return dns
