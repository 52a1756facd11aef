"""Sockets inside a pod's network namespace, opened from the agent itself.

A socket belongs to the network namespace it was created in, whatever thread later uses
it. So a short-lived helper thread enters the pod's netns with setns(2) (which affects
only that thread), creates the socket and exits; the event loop then connects and talks
over it. This needs no tool inside the image (no wget/nc) and no pod IP: with a
loopback-only sandbox, 127.0.0.1 in the pod's namespace reaches the pod's servers.
"""

from __future__ import annotations

import socket

from kubelite.agent.network import rtnl


def socket_in(netns_path: str, family: int = socket.AF_INET) -> socket.socket:
    """A fresh, unconnected, non-blocking TCP socket in `netns_path`."""
    sock = rtnl.run_in_netns(netns_path, lambda: socket.socket(family, socket.SOCK_STREAM))
    sock.setblocking(False)
    return sock
