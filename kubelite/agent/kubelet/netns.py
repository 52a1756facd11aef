"""Sockets inside a pod's network namespace, opened from the agent itself.

A socket belongs to the network namespace it was created in, whatever thread later uses
it. So a short-lived helper thread enters the pod's netns with setns(2) (which affects
only that thread), creates the socket and exits; the event loop then connects and talks
over it. This needs no tool inside the image (no wget/nc) and no pod IP: with a
loopback-only sandbox, 127.0.0.1 in the pod's namespace reaches the pod's servers.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def _create_in(netns_path: str, family: int, box: list[object]) -> None:
    try:
        fd = os.open(netns_path, os.O_RDONLY)
        try:
            if _libc.setns(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise OSError(err, f"setns {netns_path}: {os.strerror(err)}")
        finally:
            os.close(fd)
        box.append(socket.socket(family, socket.SOCK_STREAM))
    except OSError as e:
        box.append(e)


def socket_in(netns_path: str, family: int = socket.AF_INET) -> socket.socket:
    """A fresh, unconnected, non-blocking TCP socket in `netns_path`."""
    box: list[object] = []
    thread = threading.Thread(target=_create_in, args=(netns_path, family, box),
                              name="kubelite-netns", daemon=True)
    thread.start()
    thread.join()
    result = box[0]
    if isinstance(result, OSError):
        raise result
    assert isinstance(result, socket.socket)
    result.setblocking(False)
    return result
