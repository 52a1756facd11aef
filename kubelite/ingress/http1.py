"""HTTP/1.1 wire format for the proxy: header lists as the parser gives them (bytes pairs,
in order, repeats kept), hop-by-hop filtering, message heads, chunk framing and the
proxy's own short answers. Pure functions, no I/O.
"""

from __future__ import annotations

import http

Headers = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset({b"connection", b"keep-alive", b"proxy-authenticate",
                        b"proxy-authorization", b"te", b"trailer", b"transfer-encoding",
                        b"upgrade", b"proxy-connection"})
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"


def get(headers: Headers, name: bytes) -> bytes | None:
    """The first value of a header (name in lower case)."""
    for n, v in headers:
        if n.lower() == name:
            return v
    return None


def end_to_end(headers: Headers, drop: frozenset[bytes] = frozenset()) -> Headers:
    """The headers without hop-by-hop ones, those the Connection header names, and `drop`
    (lower-case names)."""
    named = [t.strip().lower() for n, v in headers if n.lower() == b"connection"
             for t in v.split(b",")]
    gone = HOP_BY_HOP | drop | frozenset(named) if named or drop else HOP_BY_HOP
    return [(n, v) for n, v in headers if n.lower() not in gone]


def is_chunked(headers: Headers) -> bool:
    """Whether the body is framed in chunks (Transfer-Encoding names chunked)."""
    return b"chunked" in (get(headers, b"transfer-encoding") or b"").lower()


def as_chunked(headers: Headers) -> Headers:
    """End-to-end headers for a body sent chunked: no Content-Length, and the framing."""
    return [h for h in headers if h[0].lower() != b"content-length"] + [
        (b"Transfer-Encoding", b"chunked")]


def upgrade_to(headers: Headers) -> Headers:
    """The hop-by-hop pair that passes on an Upgrade: Connection, and what to upgrade to."""
    return [(b"Connection", b"upgrade"), (b"Upgrade", get(headers, b"upgrade") or b"")]


def head(first_line: bytes, headers: Headers) -> bytes:
    """A request or response head, ready to write."""
    return b"".join((first_line, b"\r\n", *(b"%s: %s\r\n" % h for h in headers), b"\r\n"))


def status_line(status: int, reason: bytes) -> bytes:
    return b"HTTP/1.1 %d %s" % (status, reason)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


def answer(status: int, message: str, *, close: bool) -> bytes:
    """A whole plain-text response from the proxy itself (404, 502, ...)."""
    body = (message + "\n").encode()
    headers: Headers = [(b"Content-Type", b"text/plain; charset=utf-8"),
                        (b"Content-Length", b"%d" % len(body))]
    if close:
        headers.append((b"Connection", b"close"))
    return head(status_line(status, http.HTTPStatus(status).phrase.encode()), headers) + body
