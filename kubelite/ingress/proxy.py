"""The HTTP reverse proxy: route a request by the port's table, pick a ready endpoint
round-robin, and relay the request and response as streams over kept-alive backend
connections (downstream.py parses, exchange.py relays, upstream.py pools).

What a backend sees: the client's method, target, body and headers (hop-by-hop ones
dropped), the original Host (or the endpoint's address when the client sent none, as
HTTP/1.0 clients may), and X-Forwarded-For/-Proto/-Host/-Port plus X-Real-IP.
Upgrades (WebSocket) are relayed as bytes after the backend's 101. Nothing matched: 404;
a Service or port that does not exist, or no ready endpoint: 503 at once; the endpoint
refuses or fails: 502; it does not answer in time: 504.
"""

from __future__ import annotations

from collections.abc import Callable

from kubelite.ingress import downstream, endpoints, exchange, http1, routes, upstream

Handler = Callable[[], downstream.ClientConnection]

# Headers the proxy sets itself (the client's are replaced, X-Forwarded-For extended) and
# Expect, which it answers itself.
OWN = frozenset({b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host",
                 b"x-forwarded-port", b"x-real-ip", b"expect"})


def request_head(req: downstream.Request, client: downstream.ClientConnection,
                 address: endpoints.Address) -> tuple[bytes, bool]:
    """The head sent to the backend, and whether the body goes chunked."""
    headers = http1.end_to_end(req.headers, OWN)
    host = req.header(b"host")
    if host is None:
        headers.append((b"Host", b"%s:%d" % (address[0].encode(), address[1])))
    peer = client.peer.encode()
    prior = b", ".join(v for n, v in req.headers if n.lower() == b"x-forwarded-for")
    headers += [(b"X-Forwarded-For", prior + b", " + peer if prior else peer),
                (b"X-Forwarded-Proto", client.scheme.encode()),
                (b"X-Forwarded-Host", host or b""),
                (b"X-Forwarded-Port", b"%d" % client.port),
                (b"X-Real-IP", peer)]
    chunked = http1.is_chunked(req.headers)
    if chunked:
        headers = http1.as_chunked(headers)
    if req.upgrade:
        headers += http1.upgrade_to(req.headers)
    return http1.head(b"%s %s HTTP/1.1" % (req.method, req.origin_target), headers), chunked


def expects_continue(req: downstream.Request) -> bool:
    """The client waits for a 100 before it sends its body (curl does for large ones)."""
    return (not req.complete and req.version == "1.1"
            and (req.header(b"expect") or b"").lower() == b"100-continue")


class Proxy:
    """Serves every listener; `table_of(port)` gives the routing table a port uses now."""

    def __init__(self, balancer: endpoints.Balancer,
                 table_of: Callable[[int], routes.Table | None], *,
                 connect_timeout: float = 5.0, read_timeout: float = 60.0) -> None:
        self._balancer = balancer
        self._table_of = table_of
        self._read_timeout = read_timeout
        self._pool = upstream.Pool(connect_timeout)

    def handler(self, port: int, scheme: str) -> Handler:
        """The protocol factory for a listener on `port`."""
        return lambda: downstream.ClientConnection(self.serve, port, scheme)

    async def close(self) -> None:
        self._pool.close()

    def serve(self, client: downstream.ClientConnection, req: downstream.Request) -> None:
        """Answer one request, or start relaying it (downstream.Serve)."""
        if req.method == b"CONNECT":
            return client.respond(req, 405, "405 method not allowed")
        table = self._table_of(client.port)
        host = (req.header(b"host") or b"").decode("latin-1")
        backend = table.match(host, req.path) if table is not None else None
        if backend is None:
            return client.respond(req, 404, "404 page not found")
        resolved, address = self._balancer.pick(backend)
        if address is None:
            return client.respond(req, 503, f"503 service unavailable: {resolved.problem}")
        head, chunked = request_head(req, client, address)
        if expects_continue(req):
            client.write(http1.CONTINUE)  # the backend gets the body without being asked
        relay = exchange.Exchange(client, req, chunked_body=chunked,
                                  read_timeout=self._read_timeout)
        relay.start(self._pool, address, head)
        return None
