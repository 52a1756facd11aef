"""The cluster's PKI: a CA, the API server's serving certificate and client certificates.

Generated once under `<data-dir>/tls` on first start and reused afterwards, so clients
that pinned the CA keep working across restarts. Keys are ECDSA P-256: small and fast
to handshake, and accepted by kubectl and the Python client.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID_DAYS = 3650


@dataclass(frozen=True)
class KeyPair:
    cert_pem: bytes
    key_pem: bytes


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, orgs: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _builder(subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
             ) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(public_key).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS)))


def new_ca(cn: str = "kubelite-ca") -> KeyPair:
    key = _key()
    name = _name(cn)
    cert = (_builder(name, name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _load_ca(ca: KeyPair) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate(ca.cert_pem)
    key = serialization.load_pem_private_key(ca.key_pem, None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return cert, key


def issue(ca: KeyPair, cn: str, *, orgs: tuple[str, ...] = (), hosts: tuple[str, ...] = (),
          server: bool = False) -> KeyPair:
    """A leaf certificate signed by the CA: a client cert, or a serving cert for `hosts`."""
    ca_cert, ca_key = _load_ca(ca)
    key = _key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    b = (_builder(_name(cn, orgs), ca_cert.subject, key.public_key())
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False))
    if hosts:
        sans: list[x509.GeneralName] = []
        for h in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                sans.append(x509.DNSName(h))
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = b.sign(ca_key, hashes.SHA256())
    return KeyPair(cert.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def serving_hosts(binds: tuple[str, ...]) -> tuple[str, ...]:
    """The serving certificate's names: loopback, the in-cluster names, and every address
    the server listens on (a wildcard bind names none)."""
    hosts = ["127.0.0.1", "::1", "localhost", "kubernetes", "kubernetes.default",
             "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
             socket.gethostname()]
    hosts += [b for b in binds if b not in ("0.0.0.0", "::", "")]
    return tuple(dict.fromkeys(hosts))


def _names_cover(pair: KeyPair, hosts: tuple[str, ...]) -> bool:
    """Whether the certificate names every address in `hosts` (a new --bind needs a new one)."""
    addresses = [h for h in hosts if _is_ip(h)]
    if not addresses:
        return True
    cert = x509.load_pem_x509_certificate(pair.cert_pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    return all(str(ipaddress.ip_address(h)) in have for h in addresses)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _read_pair(directory: str, name: str) -> KeyPair | None:
    crt, key = os.path.join(directory, name + ".crt"), os.path.join(directory, name + ".key")
    if not (os.path.exists(crt) and os.path.exists(key)):
        return None
    with open(crt, "rb") as c, open(key, "rb") as k:
        return KeyPair(c.read(), k.read())


def _write_pair(directory: str, name: str, pair: KeyPair) -> None:
    for suffix, data in ((".crt", pair.cert_pem), (".key", pair.key_pem)):
        path = os.path.join(directory, name + suffix)
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(path + ".tmp", path)


@dataclass(frozen=True)
class PKI:
    directory: str
    ca: KeyPair
    serving: KeyPair
    admin: KeyPair

    def path(self, name: str) -> str:
        return os.path.join(self.directory, name)


def ensure(directory: str, binds: tuple[str, ...]) -> PKI:
    """Load the PKI from `directory`, creating whatever is missing."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ca = _read_pair(directory, "ca")
    if ca is None:
        ca = new_ca()
        _write_pair(directory, "ca", ca)
    pairs: dict[str, KeyPair] = {}
    hosts = serving_hosts(binds)
    specs = {
        "serving": {"cn": "kube-apiserver", "hosts": hosts, "server": True},
        "admin": {"cn": "system:admin", "orgs": ("system:masters",)},
    }
    for name, spec in specs.items():
        pair = _read_pair(directory, name)
        if pair is None or (name == "serving" and not _names_cover(pair, hosts)):
            pair = issue(ca, **spec)  # type: ignore[arg-type]
            _write_pair(directory, name, pair)
        pairs[name] = pair
    return PKI(directory, ca, pairs["serving"], pairs["admin"])
