"""Container root filesystems: overlayfs over the image's shared, read-only unpacked layers.

Only the container's upperdir/workdir are new, so a second container of an image starts
without copying anything.
"""

from __future__ import annotations

import ctypes
import os

from kubelite.agent.runtime import protocol

_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def mount(layers: tuple[str, ...], base: str) -> str:
    """Mount `base/rootfs` from `layers` (bottom first) plus `base/upper`; return the mountpoint."""
    merged, upper, work = (os.path.join(base, d) for d in ("rootfs", "upper", "work"))
    for d in (merged, upper, work):
        os.makedirs(d, exist_ok=True)
    if not layers:
        raise protocol.RuntimeFailure("image has no layers")
    lower = ":".join(reversed(layers))
    opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
    if _libc.mount(b"overlay", merged.encode(), b"overlay", 0, opts.encode()) != 0:
        err = ctypes.get_errno()
        raise protocol.RuntimeFailure(f"mount overlay on {merged}: {os.strerror(err)}")
    return merged


def unmount(base: str) -> None:
    """Unmount `base/rootfs` if mounted (lazily, so a straggling process can't block removal)."""
    merged = os.path.join(base, "rootfs")
    if not is_mounted(merged):
        return
    if _libc.umount2(merged.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        raise protocol.RuntimeFailure(f"umount {merged}: {os.strerror(err)}")


def is_mounted(path: str) -> bool:
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return any(line.split()[4] == path for line in f)
