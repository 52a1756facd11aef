"""NodePorts: a host port (protocol, port) is free on a node unless some pod holds it on
the same host IP or either side binds every address (0.0.0.0)."""

from __future__ import annotations

from typing import Any

from kubelite.scheduler import handle as handle_mod
from kubelite.scheduler import nodeinfo, podinfo, protocol

NAME = "NodePorts"
REASON = "node(s) didn't have free ports for the requested pod ports"
_REJECT = protocol.Status(protocol.Code.UNSCHEDULABLE, (REASON,), NAME)
ANY_IP = "0.0.0.0"


class NodePorts:
    name = NAME

    def pre_filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo]
    ) -> tuple[protocol.PreFilterResult | None, protocol.Status | None]:
        return None, (None if pod.host_ports else protocol.SKIP)

    def filter(
        self, state: protocol.CycleState, pod: podinfo.PodInfo, node: nodeinfo.NodeInfo
    ) -> protocol.Status | None:
        return _REJECT if conflicts(pod.host_ports, node.used_ports) else None

    def events_to_register(self) -> tuple[protocol.ClusterEvent, ...]:
        return (protocol.NODE_ADD, protocol.ASSIGNED_POD_DELETE)


def conflicts(wanted: tuple[tuple[str, str, int], ...], used: dict[tuple[str, int], set[str]]) -> bool:
    for ip, protocol_name, port in wanted:
        ips = used.get((protocol_name, port))
        if ips and (ip == ANY_IP or ANY_IP in ips or ip in ips):
            return True
    return False


def new(args: dict[str, Any] | None, handle: handle_mod.Handle) -> NodePorts:
    return NodePorts()
