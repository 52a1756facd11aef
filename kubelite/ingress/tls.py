"""HTTPS certificates chosen by SNI: the `kubernetes.io/tls` Secrets named in Ingresses'
`spec.tls`, and a self-signed fallback for every other name (as Traefik serves its default
certificate).

A `spec.tls` entry covers its `hosts` (wildcards allowed, one label deep); an entry without
hosts covers the hosts of its Ingress's rules. When two Ingresses name different Secrets for
one host the older Ingress wins. A Secret that is missing or malformed is skipped (the host
gets the fallback) and reported through `problems`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import logging
import os
import ssl
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kubelite.ingress import routes

log = logging.getLogger(__name__)

Obj = dict[str, Any]
TLS_SECRET = "kubernetes.io/tls"


def context_from_pem(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server context for one certificate chain (ssl reads chains only from files)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.set_alpn_protocols(["http/1.1"])
    with tempfile.TemporaryDirectory(prefix="kubelite-ingress-") as d:
        cert_path, key_path = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
        for path, data in ((cert_path, cert_pem), (key_path, key_pem)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


def context_from_secret(secret: Obj) -> ssl.SSLContext:
    """Raises ValueError with the reason when the Secret cannot serve TLS."""
    if secret.get("type") != TLS_SECRET:
        raise ValueError(f"type is {secret.get('type')!r}, not {TLS_SECRET}")
    data = secret.get("data") or {}
    try:
        cert, key = (base64.b64decode(data.get(k) or "") for k in ("tls.crt", "tls.key"))
    except binascii.Error as e:
        raise ValueError(f"data is not base64: {e}") from None
    if not cert or not key:
        raise ValueError("tls.crt or tls.key is empty")
    try:
        return context_from_pem(cert, key)
    except ssl.SSLError as e:
        raise ValueError(f"certificate or key unusable: {e.reason or e}") from None


def self_signed(cn: str = "kubelite ingress default certificate") -> tuple[bytes, bytes]:
    """A fresh ECDSA key and a self-signed certificate for the fallback."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@dataclass
class Certificates:
    """Host -> context for one HTTPS port."""
    fallback: ssl.SSLContext
    exact: dict[str, ssl.SSLContext] = field(default_factory=dict)
    wildcard: dict[str, ssl.SSLContext] = field(default_factory=dict)  # ".example.com"

    def for_name(self, server_name: str | None) -> ssl.SSLContext:
        host = routes.normalize_host(server_name or "")
        ctx = self.exact.get(host) or self.wildcard.get(routes.wildcard_suffix(host))
        if ctx is None and host.startswith("*."):
            ctx = self.wildcard.get(host[1:])
        return ctx or self.fallback


class Store:
    """SSL contexts built from Secrets, reused while a Secret's resourceVersion holds."""

    def __init__(self) -> None:
        self._fallback_cert, self._fallback_key = self_signed()
        self.fallback = context_from_pem(self._fallback_cert, self._fallback_key)
        self._built: dict[str, tuple[str, ssl.SSLContext | ValueError]] = {}

    def server_context(self, current: Callable[[], Certificates]) -> ssl.SSLContext:
        """The listener's context: it presents the fallback unless SNI names a host that
        `current()` (read at each handshake, so Secrets change without a restart) knows."""
        ctx = context_from_pem(self._fallback_cert, self._fallback_key)

        def pick(sslobj: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
            chosen = current().for_name(server_name)
            if chosen is not self.fallback:
                sslobj.context = chosen
        ctx.sni_callback = pick
        return ctx

    def _context(self, secret: Obj) -> ssl.SSLContext | ValueError:
        key = f"{secret['metadata'].get('namespace', '')}/{secret['metadata']['name']}"
        rv = secret["metadata"].get("resourceVersion", "")
        have = self._built.get(key)
        if have is None or have[0] != rv:
            try:
                built: ssl.SSLContext | ValueError = context_from_secret(secret)
            except ValueError as e:
                built = e
            self._built[key] = have = (rv, built)
        return have[1]

    def certificates(self, ingresses: Iterable[Obj], get_secret: Callable[[str], Obj | None]
                     ) -> tuple[Certificates, list[tuple[Obj, str]]]:
        """The host map for some Ingresses, and (ingress, problem) pairs to report."""
        certs = Certificates(fallback=self.fallback)
        problems: list[tuple[Obj, str]] = []
        for ing in sorted(ingresses, key=routes.age_of):
            ns = ing["metadata"].get("namespace") or "default"
            rule_hosts = [r.get("host") for r in (ing.get("spec") or {}).get("rules") or []]
            for entry in (ing.get("spec") or {}).get("tls") or []:
                name = entry.get("secretName")
                if not name:
                    continue
                secret = get_secret(f"{ns}/{name}")
                ctx = (ValueError("not found") if secret is None else self._context(secret))
                if isinstance(ctx, ValueError):
                    problems.append((ing, f"TLS secret {ns}/{name}: {ctx}"))
                    continue
                for host in entry.get("hosts") or [h for h in rule_hosts if h]:
                    host = routes.normalize_host(host)
                    table = certs.wildcard if host.startswith("*.") else certs.exact
                    table.setdefault(host[1:] if host.startswith("*.") else host, ctx)
        return certs, problems
