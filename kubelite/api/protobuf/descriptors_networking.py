"""Protobuf field tables, networking.k8s.io/v1: Ingress and its parts.

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "networking.k8s.io/v1"
KINDS: tuple[str, ...] = ("Ingress",)

MESSAGES: dict[str, str] = {
    "HTTPIngressPath": "1 path s; 2 backend IngressBackend; 3 pathType s?",
    "HTTPIngressRuleValue": "1 paths [HTTPIngressPath]",
    "Ingress": "1 metadata ObjectMeta; 2 spec IngressSpec; 3 status IngressStatus",
    "IngressBackend": "3 resource TypedLocalObjectReference; 4 service IngressServiceBackend",
    "IngressLoadBalancerIngress": "1 ip s; 2 hostname s; 4 ports [IngressPortStatus]",
    "IngressLoadBalancerStatus": "1 ingress [IngressLoadBalancerIngress]",
    "IngressPortStatus": "1 port i!; 2 protocol s!; 3 error s?",
    "IngressRule": "1 host s; 2 ... IngressRuleValue",
    "IngressRuleValue": "1 http HTTPIngressRuleValue",
    "IngressServiceBackend": "1 name s!; 2 port ServiceBackendPort",
    "IngressSpec": (
        "1 defaultBackend IngressBackend; 2 tls [IngressTLS]; 3 rules [IngressRule]; 4 ingressClassName s?"
    ),
    "IngressStatus": "1 loadBalancer IngressLoadBalancerStatus",
    "IngressTLS": "1 hosts [s]; 2 secretName s",
    "ServiceBackendPort": "1 name s; 2 number i",
}
