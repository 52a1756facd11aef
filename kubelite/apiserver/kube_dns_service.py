"""The `kube-dns` Service in kube-system: the cluster DNS's stable address
(`api.kubedns.cluster_ip`).

It has no selector: the node agent that serves DNS writes its Endpoints and EndpointSlice
itself. Created at every start if missing; an existing one is left as the admin keeps it.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import errors, kubedns
from kubelite.apiserver import context, params
from kubelite.apiserver.handlers import write

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NAMESPACE, NAME = kubedns.NAMESPACE, kubedns.NAME
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
          "kubernetes.io/name": "KubeDNS"}
PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))


def service(ip: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
            "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                     "ports": [{"name": n, "port": 53, "protocol": p, "targetPort": 53}
                               for n, p in PORTS],
                     "sessionAffinity": "None"}}


async def ensure(ctx: context.Context, service_cidr: str) -> None:
    """Create the Service unless it exists; a taken address is logged, not fatal."""
    rt = ctx.registry.lookup("", "v1", "services")
    assert rt is not None
    if await ctx.objects.get_entry(rt, NAMESPACE, NAME) is not None:
        return
    opts = params.WriteOptions(False, "kube-apiserver", "Strict", False)
    try:
        await write.create_object(ctx, rt, service(kubedns.cluster_ip(service_cidr)), NAMESPACE, opts)
    except errors.AlreadyExists:
        pass
    except errors.Invalid as e:
        log.warning("kube-dns Service not created error=%s", e)
