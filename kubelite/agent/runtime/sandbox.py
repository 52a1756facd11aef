"""Pod sandboxes: a network namespace with loopback up, and a pause process owning the
pod's IPC and UTS namespaces, which every container of the pod joins by path.

The pause process is `sleep infinity` spawned in new IPC and UTS namespaces named after the
pod: no image and no runc call. The namespaces are made in-process (see namespaces), so a
sandbox costs one spawn. Networking beyond loopback is left to the network hooks
(setup/teardown callbacks).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field

from kubelite.agent.runtime import namespaces, protocol, reaper

log = logging.getLogger(__name__)
NETNS_DIR = "/run/netns"
NETNS_ETC = "/etc/netns"


@dataclass
class Sandbox:
    id: str
    config: protocol.PodSandboxConfig
    dir: str
    netns: str
    created_at: float = field(default_factory=time.time)
    state: str = protocol.SANDBOX_READY
    ips: tuple[str, ...] = ()
    pause_pid: int = 0          # also set for a pause process adopted after an agent restart
    own_pause: bool = False     # the pause process is our child (not adopted)

    @property
    def netns_path(self) -> str:
        return os.path.join(NETNS_DIR, self.netns)

    def ns_path(self, kind: str) -> str:
        assert self.pause_pid
        return f"/proc/{self.pause_pid}/ns/{kind}"

    def etc_files(self) -> dict[str, str]:
        return {f"/etc/{n}": os.path.join(self.dir, n) for n in ("resolv.conf", "hosts", "hostname")}

    def status(self) -> protocol.PodSandboxStatus:
        return protocol.PodSandboxStatus(id=self.id, config=self.config, state=self.state,
                                         created_at=self.created_at, netns_path=self.netns_path,
                                         ips=self.ips)

    def save(self) -> None:
        """Write `<dir>/sandbox.json` so a restarted agent can adopt the sandbox."""
        doc = {"id": self.id, "config": asdict(self.config), "netns": self.netns,
               "created_at": self.created_at, "ips": list(self.ips), "pause_pid": self.pause_pid}
        tmp = os.path.join(self.dir, "sandbox.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(doc, f)
        os.replace(tmp, os.path.join(self.dir, "sandbox.json"))


def load(sandbox_dir: str) -> Sandbox:
    """The sandbox saved in `sandbox_dir`; raise OSError/ValueError/KeyError if unreadable."""
    with open(os.path.join(sandbox_dir, "sandbox.json"), encoding="utf-8") as f:
        doc = json.load(f)
    cfg = dict(doc["config"])
    dns = cfg.pop("dns", {}) or {}
    config = protocol.PodSandboxConfig(**cfg, dns=protocol.DNSConfig(
        **{k: tuple(v) for k, v in dns.items()}))
    return Sandbox(doc["id"], config, sandbox_dir, doc["netns"], created_at=doc["created_at"],
                   ips=tuple(doc["ips"]), pause_pid=int(doc["pause_pid"]))


def hostname_of(config: protocol.PodSandboxConfig) -> str:
    return (config.hostname or config.name)[:63]


def write_files(sb: Sandbox) -> None:
    """resolv.conf, hosts and hostname for the pod; resolv.conf also for `ip netns exec`."""
    dns = sb.config.dns
    lines = [f"nameserver {s}" for s in dns.servers]
    if dns.searches:
        lines.append("search " + " ".join(dns.searches))
    if dns.options:
        lines.append("options " + " ".join(dns.options))
    resolv = "\n".join(lines) + "\n"
    name = hostname_of(sb.config)
    hosts = ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
             + "".join(f"{ip}\t{name}\n" for ip in sb.ips))
    os.makedirs(sb.dir, exist_ok=True)
    os.makedirs(os.path.join(NETNS_ETC, sb.netns), exist_ok=True)
    for path, text in ((os.path.join(sb.dir, "resolv.conf"), resolv),
                       (os.path.join(NETNS_ETC, sb.netns, "resolv.conf"), resolv),
                       (os.path.join(sb.dir, "hosts"), hosts),
                       (os.path.join(sb.dir, "hostname"), name + "\n")):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


async def create(sb: Sandbox, setup: protocol.NetworkSetup | None) -> None:
    """Network namespace, loopback, hooks, files, pause process. Undo with `destroy`."""
    try:
        await namespaces.create_netns(sb.netns_path)
    except OSError as e:
        raise protocol.RuntimeFailure(f"network namespace of sandbox {sb.id}: {e}") from e
    if setup is not None:
        sb.ips = tuple(await setup(sb.id, sb.netns_path, sb.config))
    write_files(sb)
    try:
        sb.pause_pid = await namespaces.spawn_pause(hostname_of(sb.config))
    except OSError as e:
        raise protocol.RuntimeFailure(f"pause process of sandbox {sb.id} failed: {e}") from e
    sb.own_pause = True
    sb.save()


async def stop(sb: Sandbox, teardown: protocol.NetworkTeardown | None) -> None:
    """Kill the pause process and tear the pod network down; idempotent."""
    if sb.pause_pid:
        try:
            os.kill(sb.pause_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if sb.own_pause:    # our child: reap it (an adopted one is not ours to wait for)
            await reaper.wait_exit(sb.pause_pid)
        sb.pause_pid, sb.own_pause = 0, False
    if teardown is not None and sb.state == protocol.SANDBOX_READY:
        await teardown(sb.id, sb.netns_path, sb.config)
    sb.state = protocol.SANDBOX_NOT_READY


async def destroy(sb: Sandbox) -> None:
    """Delete the network namespace and the sandbox's files; idempotent."""
    namespaces.delete_netns(sb.netns_path)
    shutil.rmtree(os.path.join(NETNS_ETC, sb.netns), ignore_errors=True)
    shutil.rmtree(sb.dir, ignore_errors=True)
