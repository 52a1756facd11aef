"""Pod address allocation from the node's pod CIDR, kept on disk.

One file per address in use, named by the address and holding its owner (the sandbox
id), created with O_EXCL so two claims can never both win; a restarted agent reads the
same files and so never hands out an address twice. The first address belongs to the
bridge (the pods' gateway); network and broadcast addresses are never given out.
Allocation goes round from the last address handed out, so a freed address is not
reused at once (stale ARP entries of the old pod would point at it).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
from collections.abc import Callable, Iterator


class Exhausted(RuntimeError):
    """Every address of the pod CIDR is in use."""


class IPAM:
    def __init__(self, state_dir: str, pod_cidr: str) -> None:
        self.net = ipaddress.IPv4Network(pod_cidr, strict=False)
        if self.net.num_addresses < 4:
            raise ValueError(f"pod CIDR {pod_cidr} is too small for a gateway and a pod")
        self.dir = os.path.join(state_dir, str(self.net).replace("/", "_"))
        os.makedirs(self.dir, exist_ok=True)
        self._gateway = ipaddress.IPv4Interface(f"{self.net.network_address + 1}/{self.net.prefixlen}")

    @property
    def gateway(self) -> ipaddress.IPv4Interface:
        """The bridge's address: the first of the CIDR, e.g. 10.42.0.1/24."""
        return self._gateway

    def _path(self, ip: ipaddress.IPv4Address) -> str:
        return os.path.join(self.dir, str(ip))

    def owners(self) -> dict[str, str]:
        """address -> owner, for every address in use."""
        out = {}
        for name in os.listdir(self.dir):
            with contextlib.suppress(ValueError, FileNotFoundError):
                ipaddress.IPv4Address(name)
                with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                    out[name] = f.read().strip()
        return out

    def _candidates(self) -> Iterator[ipaddress.IPv4Address]:
        """Every pod address (not network, gateway, broadcast), starting after the last one
        handed out and going round; computed lazily, as allocation usually stops early."""
        first = int(self.net.network_address) + 2
        count = int(self.net.broadcast_address) - first
        last = self._read_last()
        start = int(last) + 1 - first if last is not None and last in self.net else 0
        for i in range(count):
            yield ipaddress.IPv4Address(first + (start + i) % count)

    def _read_last(self) -> ipaddress.IPv4Address | None:
        try:
            with open(os.path.join(self.dir, "last"), encoding="utf-8") as f:
                return ipaddress.IPv4Address(f.read().strip())
        except (OSError, ValueError):
            return None

    def allocate(self, owner: str) -> ipaddress.IPv4Interface:
        """An address for `owner` (the one it already holds, if any), with the prefix."""
        for held, who in self.owners().items():
            if who == owner:
                return ipaddress.IPv4Interface(f"{held}/{self.net.prefixlen}")
        for ip in self._candidates():
            try:
                fd = os.open(self._path(ip), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(owner + "\n")
            with open(os.path.join(self.dir, "last"), "w", encoding="utf-8") as f:
                f.write(str(ip) + "\n")
            return ipaddress.IPv4Interface(f"{ip}/{self.net.prefixlen}")
        raise Exhausted(f"no free address left in {self.net}")

    def release(self, owner: str) -> list[str]:
        """Free every address `owner` holds; return them."""
        freed = [ip for ip, who in self.owners().items() if who == owner]
        for ip in freed:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.dir, ip))
        return freed

    def release_unless(self, alive: Callable[[str], bool]) -> list[str]:
        """Free the addresses whose owner is gone (after a crash or restart); return them."""
        gone = {who for who in self.owners().values() if not alive(who)}
        return [ip for who in sorted(gone) for ip in self.release(who)]
