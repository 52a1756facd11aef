"""Pods resolve cluster names: the kube-dns Service, the bundled agent's DNS on the pod
gateway, and each pod's /etc/resolv.conf per dnsPolicy. The real server and agent, busybox
pods, the real kubectl; the DNS has no upstream, so no query leaves the machine."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import pytest

from kubelite.agent.kubelet import dnsconfig
from kubelite.agent.network import bridge
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod
from tests.e2e import test_pod_network as podnet_e2e

NS = "kubelite-dns-e2e"


@pytest.fixture(scope="module")
def dns_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    if not agentenv.why_not() and bridge.NAME in podnet_e2e.host_links():
        pytest.skip(f"another kubelite pod network ({bridge.NAME}) is up on this host")
    yield from agentenv.running_cluster(tmp_path_factory, NS)   # no DNS upstream


@pytest.fixture(scope="module")
def gateway(dns_cluster: cluster_mod.Cluster) -> str:
    """The node's pod gateway, once the DNS on it serves (it publishes kube-dns's endpoints
    only then)."""
    cidr = dns_cluster.kubectl_json("get", "nodes")["items"][0]["spec"]["podCIDR"]
    gw = str(ipaddress.ip_network(cidr).network_address + 1)
    dns_cluster.kubectl("wait", "-n", "kube-system", "endpoints/kube-dns", "--for=create",
                        "--timeout=60s", timeout=70)
    dns_cluster.kubectl("wait", "-n", "kube-system", "endpoints/kube-dns",
                        f"--for=jsonpath={{.subsets[0].addresses[0].ip}}={gw}",
                        "--timeout=60s", timeout=70)
    return gw


def run_to_end(c: cluster_mod.Cluster, name: str, command: str, extra: str = "") -> str:
    """Run a busybox pod to completion; its log."""
    c.kubectl("apply", "-f", "-", input=agentenv.pod_yaml(name, NS, command, restart="Never",
                                                          extra=extra))
    c.kubectl("wait", "-n", NS, f"pod/{name}", "--for=jsonpath={.status.phase}=Succeeded",
              "--timeout=60s", timeout=70)
    return c.kubectl("logs", name, "-n", NS).stdout


def test_kube_dns_service_and_endpoints(dns_cluster: cluster_mod.Cluster, gateway: str) -> None:
    c = dns_cluster
    row = c.kubectl("get", "svc", "-n", "kube-system", "kube-dns", "--no-headers").stdout.split()
    assert row[:5] == ["kube-dns", "ClusterIP", "10.43.0.10", "<none>", "53/UDP,53/TCP"]
    labels = c.kubectl_json("get", "svc", "-n", "kube-system", "kube-dns")["metadata"]["labels"]
    assert labels["k8s-app"] == "kube-dns" and labels["kubernetes.io/cluster-service"] == "true"
    assert "KubeDNS is running at" in c.kubectl("cluster-info").stdout
    eps = c.kubectl("get", "endpoints", "-n", "kube-system", "kube-dns", "--no-headers").stdout
    assert eps.split()[1] in (f"{gateway}:53,{gateway}:53", f"{gateway}:53")


def test_resolv_conf_per_dns_policy(dns_cluster: cluster_mod.Cluster) -> None:
    with open("/etc/resolv.conf") as f:
        host = dnsconfig.parse_resolv_conf(f.read())
    cluster_first = run_to_end(dns_cluster, "cf", "cat /etc/resolv.conf")
    search = " ".join(dict.fromkeys((f"{NS}.svc.cluster.local", "svc.cluster.local",
                                     "cluster.local", *host.searches)))
    assert cluster_first == f"nameserver 10.43.0.10\nsearch {search}\noptions ndots:5\n"

    custom = run_to_end(dns_cluster, "none", "cat /etc/resolv.conf", extra="""  dnsPolicy: None
  dnsConfig:
    nameservers: [192.0.2.1]
    searches: [a.example]
    options: [{name: ndots, value: "2"}, {name: edns0}]
""")
    assert custom == "nameserver 192.0.2.1\nsearch a.example\noptions ndots:2 edns0\n"

    default = run_to_end(dns_cluster, "default", "cat /etc/resolv.conf",
                         extra="  dnsPolicy: Default\n")
    assert [line.split()[1] for line in default.splitlines()
            if line.startswith("nameserver")] == list(host.servers)


def test_pod_resolves_services_through_the_gateway(dns_cluster: cluster_mod.Cluster,
                                                   gateway: str) -> None:
    c = dns_cluster
    c.kubectl("create", "service", "clusterip", "web", "-n", NS, "--tcp=80:8080")
    ip = c.kubectl_json("get", "svc", "web", "-n", NS)["spec"]["clusterIP"]
    out = run_to_end(c, "lookup", f"nslookup -type=a web.{NS}.svc.cluster.local {gateway}; "
                     f"echo rc=$?; nslookup -type=a nope.{NS}.svc.cluster.local {gateway}; "
                     "echo rc=$?")
    server = f"Server:\t\t{gateway}\nAddress:\t{gateway}:53\n\n"
    assert out == (f"{server}Name:\tweb.{NS}.svc.cluster.local\nAddress: {ip}\n\nrc=0\n"
                   f"{server}** server can't find nope.{NS}.svc.cluster.local: NXDOMAIN\n\n"
                   "rc=1\n")
