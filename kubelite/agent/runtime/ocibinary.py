"""Which OCI runtime binary runs containers: runc, crun, or "auto" (crun when it is
installed and usable here, else runc), decided once per process.

crun starts containers about twice as fast as runc. On a hybrid cgroup host (cgroup v1
controllers plus a cgroup2 mount, usually /sys/fs/cgroup/unified) crun refuses to create
containers ("cgroups in hybrid mode not supported"); it works when `run` runs in a
private mount namespace without the cgroup2 mount, where it sees plain cgroup v1. So on such
hosts `run` is wrapped: `unshare -m --propagation private sh -c 'umount <cgroup2> &&
exec crun ...'`. The wrapper keeps the pid (exec), so the container's init is still
re-parented to the agent (the subreaper) and its exit code kept; the umount stays inside the
throw-away namespace. state/kill/delete/exec need no wrapper.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from dataclasses import dataclass

from kubelite.agent.runtime import cgroups

log = logging.getLogger(__name__)
CHOICES = ("auto", "runc", "crun")
WRAP_SCRIPT = 'umount "$0" && exec "$@"'


@dataclass(frozen=True)
class Binary:
    name: str                            # "runc" or "crun": also the containerID scheme
    path: str                            # what to execute
    run_prefix: tuple[str, ...] = ()  # argv put before `<path> ... run` (the wrapper)


RUNC = Binary("runc", "runc")


def hybrid_cgroup2() -> str:
    """The cgroup2 mount point on a hybrid host (v1 controllers and cgroup2), else ""."""
    points = cgroups.mounts()
    unified = points.get("unified", "")
    v1 = any(k not in ("unified", "name=systemd") for k in points)
    return unified if unified and v1 else ""


def wrapper(cgroup2: str) -> tuple[str, ...]:
    return ("unshare", "-m", "--propagation", "private", "sh", "-c", WRAP_SCRIPT, cgroup2)


def _works(argv: list[str]) -> bool:
    try:
        return subprocess.run(argv, check=False, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@functools.cache
def crun() -> Binary | None:
    """crun with the wrapper this host needs, if installed and usable; probed once."""
    path = shutil.which("crun")
    if path is None:
        return None
    prefix = wrapper(cgroup2) if (cgroup2 := hybrid_cgroup2()) else ()
    if not _works([*prefix, path, "--version"]):
        log.info("crun found but not usable here path=%s wrapper=%s", path, " ".join(prefix))
        return None
    return Binary("crun", path, prefix)


def resolve(choice: str) -> Binary:
    """The binary for `choice` ("auto", "runc", "crun"). An explicit "crun" that the probe
    found unusable is still returned (wrapped as the host needs), so the node reports it
    missing or container creation reports crun's own error."""
    if choice not in CHOICES:
        raise ValueError(f"unknown OCI runtime {choice!r}: want one of {', '.join(CHOICES)}")
    if choice == "runc":
        return RUNC
    if (found := crun()) is not None:
        return found
    if choice == "crun":
        return Binary("crun", "crun", wrapper(cgroup2) if (cgroup2 := hybrid_cgroup2()) else ())
    return RUNC
