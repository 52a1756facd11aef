"""TLS for the node API: a self-signed serving certificate (as a kubelet makes when it has
none) and client-certificate verification against the cluster CA."""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _self_signed(host: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{host}@kubelite-node")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def ensure_serving(directory: str, host: str) -> tuple[str, str]:
    """Paths of the serving certificate and key, created on first use."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    crt, key = os.path.join(directory, "kubelet.crt"), os.path.join(directory, "kubelet.key")
    if not (os.path.exists(crt) and os.path.exists(key)):
        cert_pem, key_pem = _self_signed(host)
        for path, data in ((key, key_pem), (crt, cert_pem)):
            fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(path + ".tmp", path)
    return crt, key


def server_context(cert: str, key: str, client_ca_pem: str) -> ssl.SSLContext:
    """Serve with `cert`; accept (not require) client certificates signed by the CA."""
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.minimum_version = ssl.TLSVersion.TLSv1_2
    tls.load_cert_chain(cert, key)
    if client_ca_pem:
        tls.load_verify_locations(cadata=client_ca_pem)
        tls.verify_mode = ssl.CERT_OPTIONAL
    tls.set_alpn_protocols(["http/1.1"])
    return tls
