"""Authentication: who is calling. Client certificates signed by the cluster CA, or
bearer tokens the server issued. Authorization is separate (authz.py).
"""

from __future__ import annotations

import hmac
import os
import secrets
import ssl
import weakref
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from kubelite.api import errors


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict)

    def info(self) -> dict[str, object]:
        """The user as upstream's UserInfo (for reviews and whoami)."""
        groups = list(self.groups)
        if "system:authenticated" not in groups:
            groups.append("system:authenticated")
        out: dict[str, object] = {"username": self.name, "groups": groups}
        if self.uid:
            out["uid"] = self.uid
        return out


class Authenticator:
    """Maps a request's TLS peer certificate or bearer token to a User."""

    def __init__(self) -> None:
        self._tokens: dict[str, User] = {}

    def add_token(self, token: str, user: User) -> None:
        self._tokens[token] = user

    def authenticate(self, request: web.Request) -> User:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            user = self._token_user(header[7:].strip())
            if user is not None:
                return user
            raise errors.Unauthorized()
        user = _cert_user(request)
        if user is None:
            raise errors.Unauthorized()
        return user

    def user_for_token(self, token: str) -> User | None:
        return self._token_user(token) if token else None

    def _token_user(self, token: str) -> User | None:
        for known, user in self._tokens.items():
            if hmac.compare_digest(known, token):
                return user
        return None


AUTHN_KEY: web.AppKey[Authenticator] = web.AppKey("authenticator", Authenticator)


# The client certificate's user per TLS connection: a connection's peer never changes, and
# parsing the certificate on every request of a kept-alive connection is measurable.
_CONNECTION_USERS: weakref.WeakKeyDictionary[ssl.SSLObject, User | None] = (
    weakref.WeakKeyDictionary())


def _cert_user(request: web.Request) -> User | None:
    transport = request.transport
    if transport is None:
        return None
    sslobj = transport.get_extra_info("ssl_object")
    if not isinstance(sslobj, ssl.SSLObject):
        return None
    try:
        return _CONNECTION_USERS[sslobj]
    except KeyError:
        user = _CONNECTION_USERS[sslobj] = _parse_cert_user(sslobj)
        return user


def _parse_cert_user(sslobj: ssl.SSLObject) -> User | None:
    cert = sslobj.getpeercert()
    if not cert:
        return None
    cn, orgs = "", []
    subject: Any = cert.get("subject", ())
    for rdn in subject:
        for key, value in rdn:
            if key == "commonName":
                cn = value
            elif key == "organizationName":
                orgs.append(value)
    return User(cn, tuple(orgs)) if cn else None


def load_or_create_token(path: str) -> str:
    """A secret token kept in a file (0600), created on first use."""
    if os.path.exists(path):
        with open(path) as f:
            token = f.read().strip()
        if token:
            return token
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    token = secrets.token_hex(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token
