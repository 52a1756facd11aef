"""Protobuf field tables, rbac.authorization.k8s.io/v1: Role, ClusterRole and their bindings.

Written from the Go struct tags of the Kubernetes 1.32 types; the notation is described
in kubelite.api.protobuf.schema.
"""

from __future__ import annotations

GROUP_VERSION = "rbac.authorization.k8s.io/v1"
KINDS: tuple[str, ...] = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")

MESSAGES: dict[str, str] = {
    "AggregationRule": "1 clusterRoleSelectors [LabelSelector]",
    "ClusterRole": "1 metadata ObjectMeta; 2 rules [PolicyRule]; 3 aggregationRule AggregationRule",
    "ClusterRoleBinding": "1 metadata ObjectMeta; 2 subjects [Subject]; 3 roleRef RoleRef",
    "PolicyRule": "1 verbs [s]; 2 apiGroups [s]; 3 resources [s]; 4 resourceNames [s]; 5 nonResourceURLs [s]",
    "Role": "1 metadata ObjectMeta; 2 rules [PolicyRule]",
    "RoleBinding": "1 metadata ObjectMeta; 2 subjects [Subject]; 3 roleRef RoleRef",
    "RoleRef": "1 apiGroup s!; 2 kind s!; 3 name s!",
    "Subject": "1 kind s!; 2 apiGroup s; 3 name s!; 4 namespace s",
}
