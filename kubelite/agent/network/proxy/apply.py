"""Write the proxy's table into a network namespace atomically with `nft -f -`.

Only table `ip kubelite` is ever touched: one transaction adds it (so the delete cannot
fail), deletes it and writes the new one, so packets never see a half-built table.
"""

from __future__ import annotations

import asyncio

from kubelite.agent.network.proxy import rules


class NftFailed(RuntimeError):
    """nft exited non-zero; its stderr is the message."""


def _cmd(netns: str | None, *args: str) -> list[str]:
    return [*(("ip", "netns", "exec", netns) if netns else ()), "nft", *args]


async def nft(*args: str, netns: str | None = None, stdin: str | None = None) -> str:
    """Run nft in `netns` (a name under /run/netns; None is our own namespace)."""
    proc = await asyncio.create_subprocess_exec(
        *_cmd(netns, *args),
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        raise NftFailed(f"nft {' '.join(args)}: {err.decode(errors='replace').strip()}")
    return out.decode()


def transaction(table_text: str) -> str:
    """The `nft -f` input replacing table kubelite by `table_text` in one go."""
    return (f"add table ip {rules.TABLE}\ndelete table ip {rules.TABLE}\n" + table_text)


async def apply(table_text: str, netns: str | None = None) -> None:
    await nft("-f", "-", netns=netns, stdin=transaction(table_text))


async def tables(netns: str | None = None) -> list[str]:
    """`family name` of every table in the namespace."""
    out = await nft("list", "tables", netns=netns)
    return [line.removeprefix("table ").strip() for line in out.splitlines() if line.strip()]


async def remove(netns: str | None = None) -> bool:
    """Delete table kubelite if present; True if it was."""
    if f"ip {rules.TABLE}" not in await tables(netns):
        return False
    await nft("delete", "table", "ip", rules.TABLE, netns=netns)
    return True
