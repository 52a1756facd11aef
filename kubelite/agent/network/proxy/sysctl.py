"""Read and write /proc/sys entries of one network namespace (net.* is per namespace)."""

from __future__ import annotations

import asyncio
import json
import os


def _path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


async def _run(netns: str | None, script: str, *args: str) -> str:
    prefix = ("ip", "netns", "exec", netns) if netns else ()
    proc = await asyncio.create_subprocess_exec(
        *prefix, "sh", "-c", script, "sh", *args, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise OSError(f"sysctl in netns {netns}: {err.decode(errors='replace').strip()}")
    return out.decode().strip()


async def read(key: str, netns: str | None = None) -> str:
    if not netns:                           # our own namespace: no process needed
        with open(_path(key)) as f:  # noqa: ASYNC230 - a /proc entry
            return f.read().strip()
    return await _run(netns, 'cat "$1"', _path(key))


async def write(key: str, value: str, netns: str | None = None) -> None:
    if not netns:
        with open(_path(key), "w") as f:  # noqa: ASYNC230 - a /proc entry
            f.write(value + "\n")
        return
    await _run(netns, 'echo "$2" > "$1"', _path(key), value)


def load_saved(path: str) -> dict[str, str]:
    """Values a previous run changed and could not restore (it crashed); {} if none."""
    if not path or not os.path.exists(path):
        return {}
    with open(path) as f:
        return {str(k): str(v) for k, v in json.load(f).items()}


def save(path: str, values: dict[str, str]) -> None:
    """Remember original values before changing them, so a crash cannot lose them."""
    if not path:
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w") as f:
        json.dump(values, f)
    os.replace(path + ".tmp", path)


def forget(path: str) -> None:
    if path and os.path.exists(path):
        os.remove(path)
