"""cgroup paths, file reading and teardown for containers (v1, hybrid, or v2).

Every container gets an explicit cgroupsPath `/<parent>/pod<uid>/<container id>`;
runc creates it in every hierarchy and removes only the leaf on `delete`, so the pod
and parent directories are removed here.
"""

from __future__ import annotations

import errno
import functools
import os


@functools.lru_cache(maxsize=1)
def mounts() -> dict[str, str]:
    """Controller (or 'unified', or 'name=systemd') -> mount point of its hierarchy."""
    out: dict[str, str] = {}
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fstype, _, options = post.split()[:3]
            point = pre.split()[4]
            if fstype == "cgroup2":
                out.setdefault("unified", point)
            elif fstype == "cgroup":
                for opt in options.split(","):
                    if opt in ("rw", "ro", "relatime") or opt.startswith("release_agent"):
                        continue
                    out.setdefault(opt, point)
    return out


def pod_path(parent: str, pod_uid: str) -> str:
    return f"/{parent.strip('/')}/pod{pod_uid}"


def container_path(parent: str, pod_uid: str, container_id: str) -> str:
    return f"{pod_path(parent, pod_uid)}/{container_id}"


def dirs(path: str) -> list[str]:
    """The directories of cgroup `path` in every mounted hierarchy that exist."""
    points = sorted(set(mounts().values()))
    return [d for d in (os.path.join(p, path.lstrip("/")) for p in points) if os.path.isdir(d)]


def read_file(controller: str, path: str, name: str) -> str:
    """The text of `name` in cgroup `path` of `controller`'s hierarchy ("" if absent)."""
    point = mounts().get(controller)
    if point is None:
        return ""
    try:
        with open(os.path.join(point, path.lstrip("/"), name), encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def first_int(text: str) -> int:
    """The first number of a one-value cgroup file (0 when absent or "max")."""
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return 0


def keyed(text: str) -> dict[str, int]:
    """A flat-keyed cgroup file ("key value" per line: memory.stat, cpu.stat, ...)."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def oom_kills(path: str) -> int:
    """How many processes the kernel OOM killer killed in this cgroup."""
    if "memory" in mounts():
        return keyed(read_file("memory", path, "memory.oom_control")).get("oom_kill", 0)
    return keyed(read_file("unified", path, "memory.events")).get("oom_kill", 0)


def remove(path: str) -> None:
    """rmdir cgroup `path` and everything below it in every hierarchy (leaves first)."""
    for top in dirs(path):
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
            _rmdir(dirpath)


def remove_if_empty(path: str) -> None:
    """rmdir `path` where it has no child cgroups left (a shared parent)."""
    for top in dirs(path):
        try:
            os.rmdir(top)
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY, errno.ENOENT):
                raise


def _rmdir(path: str) -> None:
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
