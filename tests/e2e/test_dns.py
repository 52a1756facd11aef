"""Cluster DNS against a real server: objects made with kubectl, answers read over UDP/TCP.

`kubelite dns` runs beside the server with no upstream, so no query leaves the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import dnslib
import pytest
import yaml

from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def dns(cluster: cluster_mod.Cluster) -> Iterator[int]:
    """`kubelite dns` on 127.0.0.1:<free port> with no upstream; its port."""
    port = cluster_mod.free_port()
    with open(os.path.join(cluster.data_dir, "dns.log"), "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "kubelite.cli", "dns", "--kubeconfig",
                                 cluster.kubeconfig, "--listen", f"127.0.0.1:{port}",
                                 "--upstream", "none"], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        _wait_serving(proc, port)
        yield port
    finally:
        proc.terminate()
        proc.wait(15)


def _wait_serving(proc: subprocess.Popen[bytes], port: int, timeout: float = 30) -> None:
    """Readiness probe of a separate process: it answers once its zone has synced."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"kubelite dns exited with {proc.returncode}")
        try:
            if ask(port, "kubernetes.default.svc.cluster.local", timeout=0.2).rr:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("kubelite dns did not answer in time")


def ask(port: int, qname: str, qtype: str = "A", *, tcp: bool = False,
        timeout: float = 5) -> dnslib.DNSRecord:
    q = dnslib.DNSRecord.question(qname, qtype)
    return dnslib.DNSRecord.parse(q.send("127.0.0.1", port, tcp=tcp, timeout=timeout))


def data(reply: dnslib.DNSRecord) -> list[str]:
    return sorted(str(r.rdata) for r in reply.rr)


def wait_answer(port: int, qname: str, qtype: str,
                ok: Callable[[dnslib.DNSRecord], bool], timeout: float = 15) -> dnslib.DNSRecord:
    """Ask until the answer satisfies `ok` (informer events arrive asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        reply = ask(port, qname, qtype)
        if ok(reply):
            return reply
        if time.monotonic() > deadline:
            raise AssertionError(f"{qname} {qtype}: last answer\n{reply}")
        time.sleep(0.05)


def documents(*objs: dict[str, Any]) -> str:
    """A multi-document YAML stream for one kubectl apply."""
    return yaml.safe_dump_all(objs)


def has_rr(reply: dnslib.DNSRecord) -> bool:
    return reply.header.rcode == dnslib.RCODE.NOERROR and bool(reply.rr)


def is_nxdomain(reply: dnslib.DNSRecord) -> bool:
    return reply.header.rcode == dnslib.RCODE.NXDOMAIN


def test_kubernetes_service_resolves(cluster: cluster_mod.Cluster, dns: int) -> None:
    ip = cluster.kubectl("get", "svc", "kubernetes", "-n", "default", "-o",
                         "jsonpath={.spec.clusterIP}").stdout
    reply = ask(dns, "kubernetes.default.svc.cluster.local")
    assert data(reply) == [ip]
    srv = ask(dns, "_https._tcp.kubernetes.default.svc.cluster.local", "SRV", tcp=True)
    assert [str(r.rdata).split()[2:] for r in srv.rr] == [
        ["443", "kubernetes.default.svc.cluster.local."]]


def test_cluster_ip_service_lifecycle(cluster: cluster_mod.Cluster, ns: str, dns: int) -> None:
    name = f"web.{ns}.svc.cluster.local"
    missing = ask(dns, name)
    assert is_nxdomain(missing) and [r.rtype for r in missing.auth] == [dnslib.QTYPE.SOA]
    cluster.kubectl("create", "service", "clusterip", "web", "-n", ns, "--tcp=80:8080")
    ip = cluster.kubectl("get", "svc", "web", "-n", ns, "-o", "jsonpath={.spec.clusterIP}").stdout
    reply = wait_answer(dns, name, "A", has_rr)
    assert data(reply) == [ip] and reply.rr[0].ttl == 5
    srv = ask(dns, f"_80-8080._tcp.{name}", "SRV")
    assert data(srv) == [f"0 100 80 {name}."]
    ptr = ask(dns, ".".join(reversed(ip.split("."))) + ".in-addr.arpa", "PTR")
    assert data(ptr) == [f"{name}."]
    cluster.kubectl("delete", "service", "web", "-n", ns)
    wait_answer(dns, name, "A", is_nxdomain)


def test_headless_service_returns_ready_endpoints(cluster: cluster_mod.Cluster, ns: str,
                                                        dns: int) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=documents(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
         "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "db-1", "labels": {"kubernetes.io/service-name": "db"}},
         "addressType": "IPv4", "ports": [{"name": "pg", "port": 5432, "protocol": "TCP"}],
         "endpoints": [
             {"addresses": ["10.42.0.5"], "hostname": "db-0", "conditions": {"ready": True}},
             {"addresses": ["10.42.0.6"], "conditions": {"ready": True}},
             {"addresses": ["10.42.0.7"], "conditions": {"ready": False}}]}))
    name = f"db.{ns}.svc.cluster.local"
    reply = wait_answer(dns, name, "A", has_rr)
    assert data(reply) == ["10.42.0.5", "10.42.0.6"]
    assert data(ask(dns, f"db-0.{name}")) == ["10.42.0.5"]
    srv = ask(dns, f"_pg._tcp.{name}", "SRV")
    assert data(srv) == [f"0 100 5432 10-42-0-6.{name}.", f"0 100 5432 db-0.{name}."]
    cluster.kubectl("delete", "endpointslice", "db-1", "-n", ns)
    wait_answer(dns, name, "A", is_nxdomain)


def test_pod_hostname_and_subdomain(cluster: cluster_mod.Cluster, ns: str, dns: int) -> None:
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=documents(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "pets"},
         "spec": {"clusterIP": "None", "selector": {"app": "pets"}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "cat", "labels": {"app": "pets"}},
         "spec": {"hostname": "cat", "subdomain": "pets",
                  "containers": [{"name": "c", "image": "busybox"}]}}))
    cluster.kubectl("patch", "pod", "cat", "-n", ns, "--subresource=status", "--type=merge",
                  "-p", json.dumps({"status": {"podIP": "10.42.3.4", "podIPs": [{"ip": "10.42.3.4"}],
                                               "conditions": [{"type": "Ready", "status": "True"}]}}))
    reply = wait_answer(dns, f"cat.pets.{ns}.svc.cluster.local", "A", has_rr)
    assert data(reply) == ["10.42.3.4"]
    assert data(ask(dns, f"10-42-3-4.{ns}.pod.cluster.local")) == ["10.42.3.4"]


def test_names_outside_the_zone_are_refused(dns: int) -> None:
    for tcp in (False, True):
        reply = ask(dns, "example.com", tcp=tcp)
        assert reply.header.rcode == dnslib.RCODE.REFUSED and not reply.rr
