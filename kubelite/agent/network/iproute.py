"""iproute2 (`ip`, `bridge`) run in a chosen network namespace.

Namespaces are given as names under /run/netns or as paths; "" is the agent's own.
"""

from __future__ import annotations

import asyncio
import os
import socket

NETNS_DIR = "/run/netns"


class CommandFailed(RuntimeError):
    """An iproute2 command exited non-zero; its stderr is the message."""


def ns_name(netns: str) -> str:
    """The name `ip -n` wants for a namespace given as a name or a /run/netns path."""
    if "/" not in netns:
        return netns
    if os.path.dirname(netns) != NETNS_DIR:
        raise ValueError(f"network namespace {netns} is not under {NETNS_DIR}")
    return os.path.basename(netns)


async def run(tool: str, *args: str, netns: str = "", stdin: str | None = None) -> str:
    """Run `tool [-n NS] args...`; raise CommandFailed with its stderr when it fails."""
    cmd = [tool, *(("-n", ns_name(netns)) if netns else ()), *args]
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        raise CommandFailed(f"{' '.join(cmd)}: {err.decode(errors='replace').strip()}")
    return out.decode()


async def ip(*args: str, netns: str = "") -> str:
    return await run("ip", *args, netns=netns)


async def ip_batch(lines: list[str], netns: str = "") -> None:
    """Several `ip` commands in one process (stops at the first failure)."""
    await run("ip", "-batch", "-", netns=netns, stdin="\n".join(lines) + "\n")


async def link_exists(name: str, netns: str = "") -> bool:
    if not netns:   # the agent's own namespace: ask the kernel directly, no process
        try:
            socket.if_nametoindex(name)
        except OSError:
            return False
        return True
    try:
        await ip("link", "show", "dev", name, netns=netns)
    except CommandFailed:
        return False
    return True


async def delete_link(name: str, netns: str = "") -> bool:
    """Delete a link if it exists; True if it did."""
    if not await link_exists(name, netns):
        return False
    await ip("link", "delete", "dev", name, netns=netns)
    return True
