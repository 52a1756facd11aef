"""Build the OCI runtime config.json for a container.

Kubernetes semantics for the process: `command` replaces the image Entrypoint, `args`
replace its Cmd; env is the image's, overridden by the container's; the working dir and
user default to the image's. Namespaces: network, IPC and UTS are the sandbox's (joined
by path); mount and PID are the container's own.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from typing import Any

from kubelite.agent.runtime import protocol

DEFAULT_CAPS = ("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE")
ALL_CAPS = DEFAULT_CAPS + (
    "CAP_DAC_READ_SEARCH", "CAP_LINUX_IMMUTABLE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_LEASE", "CAP_AUDIT_CONTROL", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ")
MASKED = ("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware")
READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
PROPAGATION = {"private": "rprivate", "rslave": "rslave", "rshared": "rshared",
               "HostToContainer": "rslave", "Bidirectional": "rshared", "None": "rprivate"}


@dataclass(frozen=True)
class Placement:
    """Where the container lives: its rootfs, cgroup, the sandbox's namespaces and files."""

    rootfs: str
    cgroups_path: str
    netns_path: str
    ipc_ns_path: str
    uts_ns_path: str
    etc_files: dict[str, str]  # container path -> host file (resolv.conf, hosts, hostname)


def argv(config: protocol.ContainerConfig, image: dict[str, Any]) -> list[str]:
    """The process arguments after Kubernetes' command/args rules."""
    entry = list(image.get("Entrypoint") or [])
    cmd = list(image.get("Cmd") or [])
    if config.command:
        out = list(config.command) + list(config.args)
    else:
        out = entry + (list(config.args) if config.args else cmd)
    if not out:
        raise protocol.RuntimeFailure("no command specified and the image has none")
    return out


def environment(config: protocol.ContainerConfig, image: dict[str, Any]) -> list[str]:
    merged: dict[str, str] = {}
    for item in image.get("Env") or []:
        key, _, value = item.partition("=")
        merged[key] = value
    merged.update(dict(config.env))
    merged.setdefault("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    return [f"{k}={v}" for k, v in merged.items()]


def user(config: protocol.ContainerConfig, image: dict[str, Any], rootfs: str) -> dict[str, Any]:
    """uid/gid: the container's, else the image's User (numeric or a name in /etc/passwd)."""
    uid, gid = 0, 0
    spec = str(image.get("User") or "")
    if spec:
        name, _, group = spec.partition(":")
        uid, gid = _lookup(name, rootfs)
        if group:
            gid = int(group) if group.isdigit() else _lookup_group(group, rootfs)
    if config.user is not None:
        uid = config.user
        if config.group is None and not spec:
            gid = 0
    if config.group is not None:
        gid = config.group
    out: dict[str, Any] = {"uid": uid, "gid": gid}
    if config.supplemental_groups:
        out["additionalGids"] = list(config.supplemental_groups)
    return out


def _lookup(name: str, rootfs: str) -> tuple[int, int]:
    if name.isdigit():
        return int(name), 0
    for fields in _entries(os.path.join(rootfs, "etc/passwd")):
        if fields[0] == name and len(fields) > 3:
            return int(fields[2]), int(fields[3])
    raise protocol.RuntimeFailure(f"unable to find user {name}: no matching entries in passwd file")


def _lookup_group(name: str, rootfs: str) -> int:
    for fields in _entries(os.path.join(rootfs, "etc/group")):
        if fields[0] == name and len(fields) > 2:
            return int(fields[2])
    raise protocol.RuntimeFailure(f"unable to find group {name}: no matching entries in group file")


def _entries(path: str) -> list[list[str]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip()]
    except OSError:
        return []


def capabilities(config: protocol.ContainerConfig) -> list[str]:
    if config.privileged:
        return list(ALL_CAPS)
    norm = [c if c.startswith("CAP_") else "CAP_" + c.upper() for c in config.capabilities_add]
    drop = {c if c.startswith("CAP_") else "CAP_" + c.upper() for c in config.capabilities_drop}
    base = list(ALL_CAPS) if "CAP_ALL" in norm else list(DEFAULT_CAPS) + norm
    if "CAP_ALL" in drop:
        return [c for c in norm if c != "CAP_ALL"]
    return [c for c in dict.fromkeys(base) if c not in drop and c != "CAP_ALL"]


def mounts(config: protocol.ContainerConfig, place: Placement) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
         "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
         "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs",
         "options": ["nosuid", "noexec", "nodev", "ro"]},
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
         "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    ]
    user_targets = {m.container_path for m in config.mounts}
    for dest, src in place.etc_files.items():
        if dest not in user_targets:
            out.append({"destination": dest, "type": "bind", "source": src,
                        "options": ["rbind", "rprivate", "ro" if config.readonly_rootfs else "rw"]})
    for m in config.mounts:
        if m.propagation not in PROPAGATION:
            raise protocol.RuntimeFailure(f"unsupported mount propagation {m.propagation!r}")
        opts = ["rbind", PROPAGATION[m.propagation], "ro" if m.readonly else "rw"]
        out.append({"destination": m.container_path, "type": "bind", "source": m.host_path, "options": opts})
    return out


def resources(res: protocol.Resources) -> dict[str, Any]:
    out: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}]}
    if res.memory_limit:
        out["memory"] = {"limit": res.memory_limit, "swap": res.memory_limit}
    cpu: dict[str, Any] = {}
    if res.cpu_shares:
        cpu["shares"] = res.cpu_shares
    if res.cpu_quota:
        cpu["quota"] = res.cpu_quota
        cpu["period"] = res.cpu_period or 100_000
    if cpu:
        out["cpu"] = cpu
    if res.pids_limit:
        out["pids"] = {"limit": res.pids_limit}
    return out


def _nofile() -> int:
    """The agent's own hard limit: raising it would need CAP_SYS_RESOURCE we may lack."""
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def build(config: protocol.ContainerConfig, image: dict[str, Any], place: Placement) -> dict[str, Any]:
    """The complete config.json for `config` in the given placement."""
    img = image.get("config") or {}
    caps = capabilities(config)
    process = {
        "terminal": config.tty, "args": argv(config, img), "env": environment(config, img),
        "cwd": config.working_dir or img.get("WorkingDir") or "/",
        "user": user(config, img, place.rootfs),
        "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": _nofile(), "soft": _nofile()}],
        "noNewPrivileges": not config.privileged,
    }
    namespaces = [{"type": "pid"}, {"type": "mount"},
                  {"type": "network", "path": place.netns_path},
                  {"type": "ipc", "path": place.ipc_ns_path},
                  {"type": "uts", "path": place.uts_ns_path}]
    linux: dict[str, Any] = {"namespaces": namespaces, "cgroupsPath": place.cgroups_path,
                             "resources": resources(config.resources)}
    if not config.privileged:
        linux["maskedPaths"] = list(MASKED)
        linux["readonlyPaths"] = list(READONLY)
    return {"ociVersion": "1.0.2", "process": process,
            "root": {"path": place.rootfs, "readonly": config.readonly_rootfs},
            "mounts": mounts(config, place), "linux": linux,
            "annotations": dict(config.annotations)}
