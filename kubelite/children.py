"""Bundled components that `kubelite server` runs as child processes.

One Python process runs on one core at a time. The scheduler's filtering and scoring is
CPU-bound and competes with the API server's request handling for the same event loop, so the
server starts it as `kubelite scheduler` in its own interpreter, where it uses another core
(k3s gets the same from Go's threads). A child talks to the API server like any client; it
reaches it over the server's loopback Unix socket with the in-memory loopback token, passed in
its environment (readable only by the same user, like the admin kubeconfig on disk). A child
ends with the server (PR_SET_PDEATHSIG), even when the server is killed.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys

from kubelite.client import rest

log = logging.getLogger(__name__)

PARENT_ENV = "KUBELITE_PARENT_PID"    # the pid a child exits with
LOOPBACK_ENV = "KUBELITE_LOOPBACK"    # "<socket>\n<token>"; an abstract socket's NUL as "@"
PR_SET_PDEATHSIG = 1


def loopback_env(unix_socket: str, token: str) -> dict[str, str]:
    """What a child needs to reach the API server over its loopback socket."""
    name = "@" + unix_socket[1:] if unix_socket.startswith("\0") else unix_socket
    return {LOOPBACK_ENV: f"{name}\n{token}"}


def loopback_client(user_agent: str) -> rest.Client | None:
    """The loopback client the parent server handed down, if this process is its child."""
    value = os.environ.pop(LOOPBACK_ENV, "")
    if not value:
        return None
    name, _, token = value.partition("\n")
    path = "\0" + name[1:] if name.startswith("@") else name
    return rest.Client.loopback(path, token, user_agent=user_agent)


async def serve(name: str, args: list[str], env: dict[str, str]) -> None:
    """Run `kubelite <args>` as a child until cancelled; its exit is an error (the caller's
    supervisor restarts it). Its logs go where the server's go."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "kubelite.cli", *args, stdin=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C reaches the server, which stops it
        env={**os.environ, **env, PARENT_ENV: str(os.getpid())})
    try:
        code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    raise RuntimeError(f"{name} process exited code={code}")


def exit_with_parent() -> None:
    """When started by `serve`: die with the server, and at once if it is already gone."""
    parent = os.environ.pop(PARENT_ENV, "")
    if not parent:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("cannot follow the server's exit errno=%d", ctypes.get_errno())
    if os.getppid() != int(parent):
        sys.exit("kubelite: the server that started this component is gone")
