"""Which (protocol, port) pairs a node's network namespace already holds: listening TCP
sockets and bound UDP sockets, read from /proc/net/{tcp,tcp6,udp,udp6} (per namespace)."""

from __future__ import annotations

import asyncio
import ipaddress

TCP_LISTEN, UDP_UNCONNECTED = "0A", "07"
FILES = (("tcp", "TCP", TCP_LISTEN), ("tcp6", "TCP", TCP_LISTEN),
         ("udp", "UDP", UDP_UNCONNECTED), ("udp6", "UDP", UDP_UNCONNECTED))


def _address(hex_addr: str) -> str:
    """/proc/net's little-endian hex address (IPv4 or IPv6) as text."""
    raw = bytes.fromhex(hex_addr)
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def parse(text: str, protocol: str, state: str) -> set[tuple[str, str, int]]:
    """(protocol, local address, port) of the sockets in `state` in one /proc/net file."""
    out = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == state:
            addr, port = fields[1].split(":")
            out.add((protocol, _address(addr), int(port, 16)))
    return out


async def _read(netns: str | None, name: str) -> str:
    """/proc/net/<name> as seen from `netns` (None: our own, read directly)."""
    if netns is None:
        with open(f"/proc/net/{name}") as f:  # noqa: ASYNC230 - procfs does not block
            return f.read()
    proc = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", netns, "cat", f"/proc/net/{name}", stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _err = await proc.communicate()
    return out.decode()


async def held(netns: str | None = None) -> set[tuple[str, str, int]]:
    """(TCP|UDP, local address, port) of every listening or bound socket."""
    out: set[tuple[str, str, int]] = set()
    for name, protocol, state in FILES:
        out |= parse(await _read(netns, name), protocol, state)
    return out


def holds(sockets: set[tuple[str, str, int]], protocol: str, address: str, port: int) -> bool:
    """Whether a socket would take address:port (bound to it or to a wildcard address)."""
    wild = {"0.0.0.0", "::", address, f"::ffff:{address}"}
    return any(p == protocol and a in wild and n == port for p, a, n in sockets)
