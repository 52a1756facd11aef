"""The kube-dns Service the API server creates: its address and shape."""

from __future__ import annotations

import pytest

from kubelite.api import kubedns
from kubelite.apiserver import kube_dns_service


@pytest.mark.parametrize("cidr,want", [
    ("10.43.0.0/16", "10.43.0.10"), ("10.96.0.0/12", "10.96.0.10"), ("fd00:43::/112", "fd00:43::a"),
], ids=["k3s", "kubeadm", "ipv6"])
def test_cluster_ip_is_the_tenth_address(cidr: str, want: str) -> None:
    assert kubedns.cluster_ip(cidr) == want


def test_service_serves_dns_over_udp_and_tcp() -> None:
    svc = kube_dns_service.service("10.43.0.10")
    assert svc["metadata"]["namespace"] == "kube-system"
    assert svc["metadata"]["labels"]["kubernetes.io/cluster-service"] == "true"
    assert "selector" not in svc["spec"]     # the node agent writes its endpoints
    assert [(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]] == [
        ("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")]
