"""Write the proxy's table into a network namespace atomically with `nft -f -`.

Only table `ip kubelite` is ever touched, always in one transaction, so packets never
see a half-built table. The first write adds the table (so the delete cannot fail),
deletes it and writes the new one. Later writes replace the previous one in place:
flush every rule, delete the chains, maps and sets that go or get redeclared, and write
the new text, but keep the session-affinity sets whose declaration is unchanged, so
clients stay with their endpoint across updates.
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


def _kept(name: str, old: tuple[str, str], new: dict[str, tuple[str, str]]) -> bool:
    """An affinity set survives if the new table declares it identically; chains
    survive (emptied) if the new table still has them."""
    if old[0] == "chain":
        return name in new
    return name.startswith(rules.AFFINITY_PREFIX) and new.get(name) == old


def transaction(table_text: str, previous: str = "") -> str:
    """The `nft -f` input replacing table kubelite (last written as `previous`, "" if
    unknown) by `table_text` in one go."""
    t = f"ip {rules.TABLE}"
    if not previous:
        return f"add table {t}\ndelete table {t}\n" + table_text
    new = rules.blocks(table_text)
    drop = [f"delete {kind} {t} {name}" for name, (kind, body) in rules.blocks(previous).items()
            if not _kept(name, (kind, body), new)]
    # Sets and maps before chains: a map element may still name a chain.
    drop.sort(key=lambda line: line.split()[1] == "chain")
    return "\n".join([f"add table {t}", f"flush table {t}", *drop, table_text])


async def apply(table_text: str, netns: str | None = None, previous: str = "") -> None:
    await nft("-f", "-", netns=netns, stdin=transaction(table_text, previous))


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
