"""The few rtnetlink requests wiring a pod needs, sent over a netlink socket instead of an
`ip` process each: a veth pair with one end on the bridge (hairpin on) and the other in the
pod's namespace, then there an address, link up and a default route.

A netlink socket acts on the network namespace it was created in, so `wire_pod` makes one
from a short-lived thread that entered the wanted namespace (setns(2) affects only that
thread). Each request asks for an acknowledgement; a kernel error becomes an OSError. The
calls block for well under a millisecond.
"""

from __future__ import annotations

import ctypes
import ipaddress
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import Self, TypeVar

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_SETLINK, RTM_NEWADDR, RTM_NEWROUTE = 16, 19, 20, 24
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_PROTINFO, IFLA_LINKINFO, IFLA_NET_NS_FD = 3, 4, 10, 12, 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA, VETH_INFO_PEER, IFLA_BRPORT_MODE = 1, 2, 1, 4
NLA_F_NESTED = 0x8000
AF_BRIDGE = 7
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_OIF, RTA_GATEWAY = 4, 5
RT_TABLE_MAIN, RTPROT_BOOT, RT_SCOPE_UNIVERSE, RTN_UNICAST = 254, 3, 0, 1
IFF_UP = 0x1
CLONE_NEWNET = 0x40000000
HEADER = "=IHHII"   # struct nlmsghdr: length, type, flags, sequence, port

_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def _attr(kind: int, data: bytes) -> bytes:
    length = 4 + len(data)
    return struct.pack("=HH", length, kind) + data + b"\0" * (-length % 4)


def _name(kind: int, name: str) -> bytes:
    return _attr(kind, name.encode() + b"\0")


def _u32(kind: int, value: int) -> bytes:
    return _attr(kind, struct.pack("=I", value))


def _ifinfo(index: int = 0, flags: int = 0, family: int = socket.AF_UNSPEC) -> bytes:
    return struct.pack("=BxHiII", family, 0, index, flags, flags)


class Socket:
    """A NETLINK_ROUTE socket in the calling thread's network namespace."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.sock.close()

    def request(self, kind: int, flags: int, body: bytes, what: str) -> None:
        """Send one request and wait for its acknowledgement."""
        self.seq += 1
        self.sock.send(struct.pack(HEADER, 16 + len(body), kind, flags | NLM_F_REQUEST | NLM_F_ACK,
                                   self.seq, 0) + body)
        while True:
            data, off = self.sock.recv(65536), 0
            while off + 16 <= len(data):
                length, mtype, _, seq, _ = struct.unpack_from(HEADER, data, off)
                if mtype == NLMSG_ERROR and seq == self.seq:
                    err = -struct.unpack_from("=i", data, off + 16)[0]
                    if err:
                        raise OSError(err, f"{what}: {os.strerror(err)}")
                    return
                off += max(length + (-length % 4), 16)

    def set_up(self, index: int, what: str) -> None:
        self.request(RTM_NEWLINK, 0, _ifinfo(index, IFF_UP), f"set {what} up")

    def add_veth(self, name: str, peer: str, peer_netns_fd: int, mtu: int, master: int) -> int:
        """`ip link add NAME mtu M master BR up type veth peer name PEER mtu M netns FD`;
        return NAME's index. The peer stays down."""
        peer_info = (_ifinfo() + _name(IFLA_IFNAME, peer) + _u32(IFLA_MTU, mtu)
                     + _u32(IFLA_NET_NS_FD, peer_netns_fd))
        linkinfo = _name(IFLA_INFO_KIND, "veth") + _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer_info))
        self.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL,
                     _ifinfo(0, IFF_UP) + _name(IFLA_IFNAME, name) + _u32(IFLA_MTU, mtu)
                     + _u32(IFLA_MASTER, master) + _attr(IFLA_LINKINFO, linkinfo),
                     f"add veth {name} peer {peer}")
        return socket.if_nametoindex(name)

    def set_hairpin(self, index: int, what: str) -> None:
        """`bridge link set dev X hairpin on`: frames may leave by the port they came in."""
        self.request(RTM_SETLINK, 0, _ifinfo(index, family=AF_BRIDGE) + _attr(
            IFLA_PROTINFO | NLA_F_NESTED, _attr(IFLA_BRPORT_MODE, b"\1")), f"hairpin on {what}")

    def add_address(self, index: int, addr: ipaddress.IPv4Interface, what: str) -> None:
        ip = addr.ip.packed
        self.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL,
                     struct.pack("=BBBBI", socket.AF_INET, addr.network.prefixlen, 0, 0, index)
                     + _attr(IFA_LOCAL, ip) + _attr(IFA_ADDRESS, ip), f"add {addr} to {what}")

    def add_default_route(self, gateway: ipaddress.IPv4Address, index: int, what: str) -> None:
        body = struct.pack("=8BI", socket.AF_INET, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT,
                           RT_SCOPE_UNIVERSE, RTN_UNICAST, 0)
        self.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL,
                     body + _attr(RTA_GATEWAY, gateway.packed) + _attr(RTA_OIF, struct.pack("=I", index)),
                     f"add default route via {gateway} dev {what}")


def enter_netns(netns_path: str) -> None:
    """Move the calling thread (only it) into the network namespace at `netns_path`."""
    fd = os.open(netns_path, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns {netns_path}: {os.strerror(err)}")
    finally:
        os.close(fd)


def run_in_netns(netns_path: str, fn: Callable[[], T]) -> T:
    """fn() in a thread of its own inside `netns_path` ("": this process's namespace); the
    thread ends afterwards, so no other code runs in the wrong namespace."""
    box: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            if netns_path:
                enter_netns(netns_path)
            box.append(fn())
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            errors.append(e)
    thread = threading.Thread(target=target, name="kubelite-netns", daemon=True)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return box[0]


def _add_pod_veth(nl: Socket, name: str, bridge: str, pod_netns: str, peer: str,
                  mtu: int) -> None:
    fd = os.open(pod_netns, os.O_RDONLY)
    try:
        index = nl.add_veth(name, peer, fd, mtu, socket.if_nametoindex(bridge))
    finally:
        os.close(fd)
    nl.set_hairpin(index, name)


def _configure_pod(nl: Socket, ifname: str, addr: ipaddress.IPv4Interface,
                   gateway: ipaddress.IPv4Address) -> None:
    index = socket.if_nametoindex(ifname)   # resolved in the pod's namespace (this thread's)
    nl.add_address(index, addr, ifname)
    nl.set_up(index, ifname)
    nl.add_default_route(gateway, index, ifname)


def wire_pod(node_netns: str, veth: str, bridge: str, pod_netns: str, ifname: str, mtu: int,
             addr: ipaddress.IPv4Interface, gateway: ipaddress.IPv4Address) -> None:
    """In `node_netns` ("": ours): a veth pair, `veth` up on `bridge` with hairpin on and
    `ifname` moved to the namespace at `pod_netns`; there: `ip addr add ADDR dev IF; ip link
    set IF up; ip route add default via GW dev IF`. One thread does both halves."""
    def wire() -> None:
        with Socket() as nl:
            _add_pod_veth(nl, veth, bridge, pod_netns, ifname, mtu)
        enter_netns(pod_netns)
        with Socket() as nl:
            _configure_pod(nl, ifname, addr, gateway)
    run_in_netns(node_netns, wire)
