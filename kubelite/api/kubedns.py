"""The cluster DNS's well-known Service, `kube-dns` in kube-system, and its address: the
tenth of the service range (10.43.0.10 by default, as k3s and kubeadm use). Shared by the
API server, which creates the Service, and the node agent, which points pods at it."""

from __future__ import annotations

import ipaddress

NAMESPACE, NAME = "kube-system", "kube-dns"


def cluster_ip(service_cidr: str) -> str:
    """The kube-dns address in `service_cidr`: its tenth address."""
    return str(ipaddress.ip_network(service_cidr, strict=False).network_address + 10)
