"""Pod spec defaults (upstream core/v1 SetDefaults_PodSpec, _Container, _Volume, _Probe ...).

Only absent fields are filled, so applying twice changes nothing.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
_FILE_MODE = 420  # 0644
_VOLUME_MODES = ("configMap", "secret", "downwardAPI", "projected")


def pod_spec(spec: Obj) -> None:
    """Defaults shared by Pods and pod templates."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    host_network = bool(spec.get("hostNetwork"))
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for ctr in spec.get(key) or []:
            container(ctr, host_network=host_network)
    for vol in spec.get("volumes") or []:
        volume(vol)


def pod(obj: Obj) -> None:
    """Defaults only Pod objects get (templates do not): service links, requests from limits."""
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    spec.setdefault("enableServiceLinks", True)
    if not spec.get("priorityClassName"):
        # What the Priority admission plugin sets when no class (and no global default) applies.
        spec.setdefault("priority", 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    for key in ("initContainers", "containers"):
        for ctr in spec.get(key) or []:
            resources = ctr.setdefault("resources", {})
            limits = resources.get("limits") or {}
            if limits:
                requests = resources.setdefault("requests", {})
                for name, value in limits.items():
                    requests.setdefault(name, value)


def container(ctr: Obj, *, host_network: bool = False) -> None:
    ctr.setdefault("terminationMessagePath", "/dev/termination-log")
    ctr.setdefault("terminationMessagePolicy", "File")
    if not ctr.get("imagePullPolicy"):
        ctr["imagePullPolicy"] = pull_policy(ctr.get("image") or "")
    if ctr.get("resources") is None:
        ctr["resources"] = {}
    for port in ctr.get("ports") or []:
        port.setdefault("protocol", "TCP")
        if host_network and not port.get("hostPort") and port.get("containerPort"):
            port["hostPort"] = port["containerPort"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(ctr.get(probe), dict):
            _probe(ctr[probe])
    for handler in ("postStart", "preStop"):
        action = ((ctr.get("lifecycle") or {}).get(handler) or {}).get("httpGet")
        if isinstance(action, dict):
            _http_get(action)
    for var in ctr.get("env") or []:
        field_ref = (var.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")


def pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image, IfNotPresent otherwise (digests included)."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: Obj) -> None:
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        _http_get(probe["httpGet"])
    if isinstance(probe.get("grpc"), dict):
        probe["grpc"].setdefault("service", "")


def _http_get(action: Obj) -> None:
    action.setdefault("path", "/")
    action.setdefault("scheme", "HTTP")


def volume(vol: Obj) -> None:
    if set(vol) <= {"name"}:
        vol["emptyDir"] = {}
    for source in _VOLUME_MODES:
        if isinstance(vol.get(source), dict):
            vol[source].setdefault("defaultMode", _FILE_MODE)
    for item in ((vol.get("downwardAPI") or {}).get("items") or []):
        if isinstance(item.get("fieldRef"), dict):
            item["fieldRef"].setdefault("apiVersion", "v1")
    for src in ((vol.get("projected") or {}).get("sources") or []):
        token = src.get("serviceAccountToken")
        if isinstance(token, dict):
            token.setdefault("expirationSeconds", 3600)
    host = vol.get("hostPath")
    if isinstance(host, dict):
        host.setdefault("type", "")


def template(tmpl: Any) -> None:
    """A PodTemplateSpec (Deployments, Jobs ...)."""
    if isinstance(tmpl, dict):
        tmpl.setdefault("spec", {})
        if isinstance(tmpl["spec"], dict):
            pod_spec(tmpl["spec"])
