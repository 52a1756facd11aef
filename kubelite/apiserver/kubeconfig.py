"""Writing kubeconfig files that point kubectl and clients at this cluster."""

from __future__ import annotations

import base64
import os

import yaml


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def render(server: str, ca_pem: bytes, *, cert_pem: bytes = b"", key_pem: bytes = b"",
           token: str = "", name: str = "default") -> str:
    """A kubeconfig with one cluster, one user and one current context."""
    user: dict[str, str] = {}
    if cert_pem:
        user["client-certificate-data"] = _b64(cert_pem)
        user["client-key-data"] = _b64(key_pem)
    if token:
        user["token"] = token
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {
            "server": server, "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write(path: str, content: str) -> None:
    """Atomically write a kubeconfig readable only by its owner."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(content)
    os.replace(tmp, path)
