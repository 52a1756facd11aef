"""Protobuf field tables, core v1 objects besides pods and volumes: Service, ConfigMap, Secret, ...

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "v1"
KINDS: tuple[str, ...] = (
    "Pod",
    "Service",
    "Namespace",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "ResourceQuota",
    "PersistentVolumeClaim",
    "Endpoints",
    "LimitRange",
    "Binding",
    "PodTemplate",
    "ReplicationController",
)

MESSAGES: dict[str, str] = {
    "Binding": "1 metadata ObjectMeta; 2 target ObjectReference",
    "ClientIPConfig": "1 timeoutSeconds i?",
    "ConfigMap": "1 metadata ObjectMeta; 2 data {s}; 3 binaryData {y}; 4 immutable b?",
    "EndpointAddress": "1 ip s!; 2 targetRef ObjectReference; 3 hostname s; 4 nodeName s?",
    "EndpointPort": "1 name s; 2 port i!; 3 protocol s; 4 appProtocol s?",
    "EndpointSubset": (
        "1 addresses [EndpointAddress]; 2 notReadyAddresses [EndpointAddress]; 3 ports [EndpointPort]"
    ),
    "Endpoints": "1 metadata ObjectMeta; 2 subsets [EndpointSubset]",
    "LimitRange": "1 metadata ObjectMeta; 2 spec LimitRangeSpec",
    "LimitRangeItem": (
        "1 type s!; 2 max {Quantity}; 3 min {Quantity}; 4 default {Quantity}; 5 defaultRequest {Quantity}; "
        "6 maxLimitRequestRatio {Quantity}"
    ),
    "LimitRangeSpec": "1 limits [LimitRangeItem]",
    "LoadBalancerIngress": "1 ip s; 2 hostname s; 3 ipMode s?; 4 ports [PortStatus]",
    "LoadBalancerStatus": "1 ingress [LoadBalancerIngress]",
    "LocalObjectReference": "1 name s",
    "Namespace": "1 metadata ObjectMeta; 2 spec NamespaceSpec; 3 status NamespaceStatus",
    "NamespaceCondition": "1 type s!; 2 status s!; 4 lastTransitionTime Time; 5 reason s; 6 message s",
    "NamespaceSpec": "1 finalizers [s]",
    "NamespaceStatus": "1 phase s; 2 conditions [NamespaceCondition]",
    "ObjectReference": (
        "1 kind s; 2 namespace s; 3 name s; 4 uid s; 5 apiVersion s; 6 resourceVersion s; 7 fieldPath s"
    ),
    "PodTemplate": "1 metadata ObjectMeta; 2 template PodTemplateSpec",
    "PortStatus": "1 port i!; 2 protocol s!; 3 error s?",
    "ReplicationController": (
        "1 metadata ObjectMeta; 2 spec ReplicationControllerSpec; 3 status ReplicationControllerStatus"
    ),
    "ReplicationControllerCondition": (
        "1 type s!; 2 status s!; 3 lastTransitionTime Time; 4 reason s; 5 message s"
    ),
    "ReplicationControllerSpec": (
        "1 replicas i?; 2 selector {s}; 3 template PodTemplateSpec; 4 minReadySeconds i"
    ),
    "ReplicationControllerStatus": (
        "1 replicas i!; 2 fullyLabeledReplicas i; 3 observedGeneration i; 4 readyReplicas i; "
        "5 availableReplicas i; 6 conditions [ReplicationControllerCondition]"
    ),
    "ResourceQuota": "1 metadata ObjectMeta; 2 spec ResourceQuotaSpec; 3 status ResourceQuotaStatus",
    "ResourceQuotaSpec": "1 hard {Quantity}; 2 scopes [s]; 3 scopeSelector ScopeSelector",
    "ResourceQuotaStatus": "1 hard {Quantity}; 2 used {Quantity}",
    "ScopeSelector": "1 matchExpressions [ScopedResourceSelectorRequirement]",
    "ScopedResourceSelectorRequirement": "1 scopeName s!; 2 operator s!; 3 values [s]",
    "Secret": "1 metadata ObjectMeta; 2 data {y}; 3 type s; 4 stringData {s}; 5 immutable b?",
    "Service": "1 metadata ObjectMeta; 2 spec ServiceSpec; 3 status ServiceStatus",
    "ServiceAccount": (
        "1 metadata ObjectMeta; 2 secrets [ObjectReference]; 3 imagePullSecrets [LocalObjectReference]; "
        "4 automountServiceAccountToken b?"
    ),
    "ServicePort": (
        "1 name s; 2 protocol s; 3 port i!; 4 targetPort IntOrString; 5 nodePort i; 6 appProtocol s?"
    ),
    "ServiceSpec": (
        "1 ports [ServicePort]; 2 selector {s}; 3 clusterIP s; 4 type s; 5 externalIPs [s]; "
        "7 sessionAffinity s; 8 loadBalancerIP s; 9 loadBalancerSourceRanges [s]; 10 externalName s; "
        "11 externalTrafficPolicy s; 12 healthCheckNodePort i; 13 publishNotReadyAddresses b; "
        "14 sessionAffinityConfig SessionAffinityConfig; 17 ipFamilyPolicy s?; 18 clusterIPs [s]; "
        "19 ipFamilies [s]; 20 allocateLoadBalancerNodePorts b?; 21 loadBalancerClass s?; "
        "22 internalTrafficPolicy s?; 23 trafficDistribution s?"
    ),
    "ServiceStatus": "1 loadBalancer LoadBalancerStatus; 2 conditions [Condition]",
    "SessionAffinityConfig": "1 clientIP ClientIPConfig",
}
