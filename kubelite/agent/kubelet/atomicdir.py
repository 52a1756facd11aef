"""Atomically updated file sets, as upstream's AtomicWriter does for configMap/secret volumes.

Layout of a volume dir: `..<stamp>/` holds one generation of files, `..data` is a symlink
to the current generation, and each top-level name is a symlink through `..data`. An
update writes a new generation and swaps `..data` with one rename, so a reader sees the
old set or the new set, never a mix.
"""

from __future__ import annotations

import os
import shutil
import time

DATA = "..data"
Files = dict[str, tuple[bytes, int]]  # relative path -> (content, mode)


def _current(target: str) -> Files | None:
    data = os.path.join(target, DATA)
    if not os.path.islink(data):
        return None
    out: Files = {}
    base = os.path.realpath(data)
    for root, _, names in os.walk(base):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, base)] = (f.read(), os.stat(path).st_mode & 0o7777)
    return out


def write(target: str, files: Files) -> bool:
    """Make `target` hold exactly `files`; return True when something changed."""
    os.makedirs(target, exist_ok=True)
    old_gen = os.readlink(os.path.join(target, DATA)) if os.path.islink(
        os.path.join(target, DATA)) else ""
    if _current(target) == files:
        return False
    gen = f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.time_ns() % 10**9}"
    gen_dir = os.path.join(target, gen)
    for rel, (content, mode) in files.items():
        path = os.path.join(gen_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
        os.chmod(path, mode)
    os.makedirs(gen_dir, exist_ok=True)
    tmp = os.path.join(target, "..data_tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(gen, tmp)
    os.rename(tmp, os.path.join(target, DATA))
    _link_top_level(target, {rel.split("/", 1)[0] for rel in files})
    if old_gen and old_gen != gen:
        shutil.rmtree(os.path.join(target, old_gen), ignore_errors=True)
    return True


def _link_top_level(target: str, names: set[str]) -> None:
    for name in os.listdir(target):
        if not name.startswith("..") and name not in names:
            os.unlink(os.path.join(target, name))
    for name in names:
        link = os.path.join(target, name)
        if not os.path.lexists(link):
            os.symlink(os.path.join(DATA, name), link)
