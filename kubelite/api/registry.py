"""The resource registry: every type the API serves, as data.

Adding a built-in type is one line in `_BUILTIN`; a CustomResourceDefinition adds its
types at run time through `Registry.add`. The generic REST handler serves anything
registered here; per-type behaviour lives in strategy hooks keyed by (group, kind).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
CREATE_ONLY = ("create",)
GET_LIST = ("get", "list")   # computed on request (metrics.k8s.io), never stored or watched


@dataclass(frozen=True)
class ResourceType:
    """One served resource in one group/version."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: tuple[str, ...] = ()
    # Version whose shape is kept in the store; other versions convert to and from it.
    storage_version: str = ""
    # Stored in the same place as another resource (events.k8s.io events are core events).
    storage_group: str | None = None
    # The definition name in the schemas (io.k8s.api.apps.v1.Deployment); "" for CRDs.
    schema_name: str = ""
    # For custom resources: the CRD's openAPIV3Schema and additionalPrinterColumns.
    crd: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return self.kind + "List"

    @property
    def stored_group(self) -> str:
        return self.group if self.storage_group is None else self.storage_group

    @property
    def stored_version(self) -> str:
        return self.storage_version or self.version

    @property
    def persisted(self) -> bool:
        """Review-style types (SelfSubjectAccessReview...) are answered and metrics are
        computed; neither is ever stored."""
        return self.verbs not in (CREATE_ONLY, GET_LIST)

    def key_prefix(self, namespace: str = "") -> str:
        """Store key prefix for this resource, optionally within one namespace."""
        base = f"/registry/{self.stored_group or 'core'}/{self.plural}/"
        return base + f"{namespace}/" if namespace and self.namespaced else base

    def key(self, namespace: str, name: str) -> str:
        return self.key_prefix(namespace) + name


def _rt(gv: str, kind: str, plural: str, namespaced: bool = True, short: str = "",
        cats: str = "", sub: str = "", verbs: tuple[str, ...] = ALL_VERBS, pkg: str = "",
        storage_version: str = "", storage_group: str | None = None) -> ResourceType:
    group, _, version = gv.rpartition("/")
    schema_pkg = pkg or _schema_package(group)
    return ResourceType(
        group=group, version=version, kind=kind, plural=plural, namespaced=namespaced,
        short_names=tuple(short.split()) if short else (),
        categories=tuple(cats.split()) if cats else (),
        subresources=tuple(sub.split()) if sub else (), verbs=verbs,
        storage_version=storage_version, storage_group=storage_group,
        schema_name=f"io.k8s.api.{schema_pkg}.{version}.{kind}" if schema_pkg else "",
    )


def _schema_package(group: str) -> str:
    if not group:
        return "core"
    if group == "apiextensions.k8s.io":
        return ""  # handled by an explicit schema name below
    return group.removesuffix(".k8s.io").replace(".", "")


def _builtin() -> list[ResourceType]:
    a = "all"
    return [
        _rt("v1", "Namespace", "namespaces", False, "ns", sub="status finalize",
            verbs=tuple(v for v in ALL_VERBS if v != "deletecollection")),
        _rt("v1", "Pod", "pods", short="po", cats=a,
            sub="status binding log exec attach portforward proxy eviction ephemeralcontainers"),
        _rt("v1", "Service", "services", short="svc", cats=a, sub="status proxy"),
        _rt("v1", "Endpoints", "endpoints", short="ep"),
        _rt("v1", "ConfigMap", "configmaps", short="cm"),
        _rt("v1", "Secret", "secrets"),
        _rt("v1", "Node", "nodes", False, "no", sub="status proxy"),
        _rt("v1", "Event", "events", short="ev"),
        _rt("v1", "ServiceAccount", "serviceaccounts", short="sa", sub="token"),
        _rt("v1", "PersistentVolume", "persistentvolumes", False, "pv", sub="status"),
        _rt("v1", "PersistentVolumeClaim", "persistentvolumeclaims", short="pvc", sub="status"),
        _rt("v1", "ReplicationController", "replicationcontrollers", short="rc", cats=a,
            sub="status scale"),
        _rt("v1", "LimitRange", "limitranges", short="limits"),
        _rt("v1", "ResourceQuota", "resourcequotas", short="quota", sub="status"),
        _rt("v1", "PodTemplate", "podtemplates"),
        _rt("v1", "Binding", "bindings", verbs=CREATE_ONLY),
        _rt("apps/v1", "Deployment", "deployments", short="deploy", cats=a, sub="status scale"),
        _rt("apps/v1", "ReplicaSet", "replicasets", short="rs", cats=a, sub="status scale"),
        _rt("apps/v1", "StatefulSet", "statefulsets", short="sts", cats=a, sub="status scale"),
        _rt("apps/v1", "DaemonSet", "daemonsets", short="ds", cats=a, sub="status"),
        _rt("apps/v1", "ControllerRevision", "controllerrevisions"),
        _rt("batch/v1", "Job", "jobs", cats=a, sub="status"),
        _rt("batch/v1", "CronJob", "cronjobs", short="cj", cats=a, sub="status"),
        _rt("autoscaling/v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short="hpa",
            cats=a, sub="status"),
        _rt("autoscaling/v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short="hpa",
            cats=a, sub="status", storage_version="v2"),
        _rt("networking.k8s.io/v1", "Ingress", "ingresses", short="ing", sub="status"),
        _rt("networking.k8s.io/v1", "IngressClass", "ingressclasses", False),
        _rt("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", short="netpol"),
        _rt("coordination.k8s.io/v1", "Lease", "leases"),
        _rt("discovery.k8s.io/v1", "EndpointSlice", "endpointslices"),
        _rt("events.k8s.io/v1", "Event", "events", short="ev", storage_group="",
            storage_version="v1"),
        _rt("rbac.authorization.k8s.io/v1", "Role", "roles", pkg="rbac"),
        _rt("rbac.authorization.k8s.io/v1", "RoleBinding", "rolebindings", pkg="rbac"),
        _rt("rbac.authorization.k8s.io/v1", "ClusterRole", "clusterroles", False, pkg="rbac"),
        _rt("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", "clusterrolebindings", False,
            pkg="rbac"),
        _rt("storage.k8s.io/v1", "StorageClass", "storageclasses", False, "sc"),
        _rt("storage.k8s.io/v1", "CSIDriver", "csidrivers", False),
        _rt("storage.k8s.io/v1", "CSINode", "csinodes", False),
        _rt("storage.k8s.io/v1", "VolumeAttachment", "volumeattachments", False, sub="status"),
        _rt("policy/v1", "PodDisruptionBudget", "poddisruptionbudgets", short="pdb", sub="status"),
        _rt("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", False, "pc"),
        _rt("node.k8s.io/v1", "RuntimeClass", "runtimeclasses", False),
        ResourceType(
            group="apiextensions.k8s.io", version="v1", kind="CustomResourceDefinition",
            plural="customresourcedefinitions", namespaced=False, short_names=("crd", "crds"),
            categories=("api-extensions",), subresources=("status",),
            schema_name="io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1."
                        "CustomResourceDefinition",
        ),
        _rt("authorization.k8s.io/v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews",
            False, verbs=CREATE_ONLY),
        _rt("authorization.k8s.io/v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews",
            False, verbs=CREATE_ONLY),
        _rt("authorization.k8s.io/v1", "SubjectAccessReview", "subjectaccessreviews",
            False, verbs=CREATE_ONLY),
        _rt("authorization.k8s.io/v1", "LocalSubjectAccessReview", "localsubjectaccessreviews",
            verbs=CREATE_ONLY),
        _rt("authentication.k8s.io/v1", "TokenReview", "tokenreviews", False, verbs=CREATE_ONLY),
        _rt("authentication.k8s.io/v1", "SelfSubjectReview", "selfsubjectreviews", False,
            verbs=CREATE_ONLY),
        *_metrics(),
    ]


def _metrics() -> list[ResourceType]:
    """The resource metrics API (metrics-server's), served by the API server itself."""
    pkg = "io.k8s.metrics.pkg.apis.metrics.v1beta1."
    return [ResourceType(group="metrics.k8s.io", version="v1beta1", kind=kind, plural=plural,
                         namespaced=namespaced, verbs=GET_LIST, schema_name=pkg + kind)
            for kind, plural, namespaced in (("NodeMetrics", "nodes", False),
                                             ("PodMetrics", "pods", True))]


# Preferred version per group when a group serves several (the first listed is preferred).
_PREFERRED = {"autoscaling": ("v2", "v1")}


class Registry:
    """Every served type, looked up by URL parts or by apiVersion/kind."""

    def __init__(self, types: list[ResourceType] | None = None) -> None:
        self._by_path: dict[tuple[str, str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str, str], ResourceType] = {}
        for rt in types if types is not None else _builtin():
            self.add(rt)

    def add(self, rt: ResourceType, *, replace: bool = False) -> None:
        path = (rt.group, rt.version, rt.plural)
        if path in self._by_path and not replace:
            raise ValueError(f"duplicate resource {rt.plural} in {rt.api_version}")
        self._by_path[path] = rt
        self._by_kind[(rt.group, rt.version, rt.kind)] = rt

    def remove(self, group: str, version: str, plural: str) -> None:
        rt = self._by_path.pop((group, version, plural), None)
        if rt is not None:
            self._by_kind.pop((rt.group, rt.version, rt.kind), None)

    def lookup(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._by_path.get((group, version, plural))

    def by_kind(self, group: str, version: str, kind: str) -> ResourceType | None:
        return self._by_kind.get((group, version, kind))

    def by_api_version(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self.by_kind(group, version, kind)

    def __iter__(self) -> Iterator[ResourceType]:
        return iter(list(self._by_path.values()))

    def group_versions(self) -> dict[str, list[str]]:
        """Group -> served versions, preferred first."""
        out: dict[str, list[str]] = {}
        for rt in self._by_path.values():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        for group, versions in out.items():
            order = _PREFERRED.get(group)
            if order:
                versions.sort(key=lambda v: order.index(v) if v in order else len(order))
            elif group and any(rt.crd for rt in self._by_path.values() if rt.group == group):
                versions.sort(key=_version_priority)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [rt for rt in self._by_path.values() if rt.group == group and rt.version == version]


def _version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first."""
    import re

    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not m:
        return (3, 0, 0)
    major, stage, minor = int(m[1]), m[2], int(m[3] or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor)
