"""The `kubelite` command: server, kubectl, and the standalone components."""

from __future__ import annotations

import argparse
import asyncio
import base64
import ipaddress
import logging
import os
import shutil
import signal
import ssl
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import yaml

from kubelite import children
from kubelite.agent.images import cli as image_cli
from kubelite.agent.runtime import ocibinary
from kubelite.client import rest
from kubelite.ingress import cli as ingress_cli


def default_data_dir() -> str:
    if os.geteuid() == 0:
        return "/var/lib/kubelite"
    return os.path.join(os.path.expanduser("~"), ".kubelite")


def _add_server_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=os.environ.get("KUBELITE_DATA_DIR") or default_data_dir(),
                   help="where the store, certificates and kubeconfig live")
    p.add_argument("--bind", default="127.0.0.1", help="address(es) the API server listens on, "
                   "comma-separated (e.g. 127.0.0.1,10.0.0.5 for agents on other nodes)")
    p.add_argument("--port", type=int, default=6443, help="HTTPS port of the API server")
    p.add_argument("--store", default="sqlite",
                   help='"sqlite" (embedded, default) or etcd://HOST:PORT[,HOST:PORT...]')
    p.add_argument("--write-kubeconfig", default="",
                   help="kubeconfig path to write (default <data-dir>/kubeconfig.yaml)")
    p.add_argument("--disable", default="", help="comma-separated bundled parts to switch off "
                   "(controllers, scheduler, agent, dns, service-proxy, servicelb, ingress)")
    _add_egress_arg(p)
    p.add_argument("--dns-upstream", action="append", default=[],
                   help="resolver HOST[:PORT] the cluster DNS asks for other names, repeatable; "
                   'default the host\'s (/etc/resolv.conf); "none" answers them REFUSED')
    p.add_argument("--sim-nodes", type=int, default=0,
                   help="register this many simulated (hollow) nodes")
    p.add_argument("--sim-lease-seconds", type=float, default=10.0,
                   help="how often each simulated node renews its Lease")
    p.add_argument("--max-pods", type=int, default=0,
                   help="the bundled agent's pods capacity (default min(110, 10 x cores))")
    p.add_argument("--node-ip", default="127.0.0.1",
                   help="the bundled node's InternalIP (other nodes route its pods via it)")
    p.add_argument("--node-network", action="append", default=[], metavar="CIDR", type=_cidr,
                   help="network of other nodes' InternalIPs, repeatable: the API server "
                   "reaches their agents (logs, exec) there; default loopback only")
    p.add_argument("--cluster-cidr", default="10.42.0.0/16", type=_cidr,
                   help="the pods' range; each node gets a /24 of it (agents that join "
                   "must be given the same)")
    _add_node_monitor_args(p)
    _add_kubelet_port_arg(p)
    _add_oci_runtime_arg(p)
    ingress_cli.add_server_args(p)


def _add_egress_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--egress-masquerade", action=argparse.BooleanOptionalAction, default=True,
                   help="pods reach addresses beyond the cluster's networks masqueraded as "
                   "the node (default); --no-egress-masquerade drops such traffic")


def _cidr(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not a network in CIDR notation: {text!r}") from e


def _add_oci_runtime_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--oci-runtime", choices=ocibinary.CHOICES, default="runc",
                   help="the OCI runtime that runs containers (default runc); auto uses crun "
                   "where it is installed and usable (it starts containers faster), else runc")


def _add_kubelet_port_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubelet-port", type=int, default=10250,
                   help="port of the node agent's API (logs, exec); 0 picks a free port")


def _add_node_monitor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--node-monitor-grace-period", type=float, default=40.0,
                   help="seconds without a node heartbeat before the node is NotReady")
    p.add_argument("--pod-eviction-timeout", type=float, default=300.0,
                   help="seconds pods tolerate an unready/unreachable node (default tolerations)")


def _add_component_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Parts of the server run on their own against a running API server."""
    sched = sub.add_parser("scheduler", help="run the scheduler against an API server")
    cm = sub.add_parser("controller-manager", help="run the controllers against an API server")
    _add_node_monitor_args(cm)
    sim = sub.add_parser("sim", help="register simulated (hollow) nodes with an API server")
    sim.add_argument("--nodes", type=int, required=True, help="how many nodes")
    sim.add_argument("--prefix", default="hollow", help="node names are <prefix>-<index>")
    sim.add_argument("--lease-seconds", type=float, default=10.0,
                     help="how often each node renews its Lease")
    for p in (sched, cm, sim):
        p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""), required=not
                       os.environ.get("KUBECONFIG"), help="kubeconfig of the API server")


def _add_dns_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("dns", help="run the cluster DNS server against an API server")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""), required=not
                   os.environ.get("KUBECONFIG"), help="kubeconfig of the API server")
    p.add_argument("--listen", action="append", default=[],
                   help="HOST:PORT to answer on over UDP and TCP, repeatable (default 127.0.0.1:53)")
    p.add_argument("--domain", default="cluster.local", help="the cluster domain")
    p.add_argument("--upstream", action="append", default=[],
                   help='resolver HOST[:PORT] for other names, repeatable; default the host\'s '
                   '(/etc/resolv.conf); "none" answers other names REFUSED')


def cmd_dns(args: argparse.Namespace) -> int:
    from kubelite.agent.network.dns import clusterdns
    listen = [clusterdns.parse_address(a) for a in args.listen or ["127.0.0.1:53"]]
    upstreams = args.upstream or clusterdns.host_upstreams()
    upstreams = [] if upstreams == ["none"] else upstreams
    return _with_client(args.kubeconfig, "kubelite-dns", lambda client: clusterdns.ClusterDNS(
        client, listen=listen, domain=args.domain, upstreams=upstreams).run())


def _add_agent_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("agent", help="run a node agent (kubelet) joining an API server")
    p.add_argument("--server", required=True, help="API server URL, e.g. https://127.0.0.1:6443")
    p.add_argument("--token", required=True, help="node token (printed by kubelite server)")
    p.add_argument("--ca-file", default="", help="CA certificate of the API server")
    p.add_argument("--data-dir", default=os.environ.get("KUBELITE_DATA_DIR") or default_data_dir(),
                   help="the agent keeps images, containers, volumes and logs in <data-dir>/agent")
    p.add_argument("--node-name", default="", help="node name (default: the hostname)")
    p.add_argument("--node-ip", default="127.0.0.1", help="the node's InternalIP: its node "
                   "API listens there and other nodes route this node's pods via it")
    p.add_argument("--max-pods", type=int, default=0, help="pods capacity (default min(110, 10 x cores))")
    p.add_argument("--disable-service-proxy", action="store_true",
                   help="run no service proxy (and no ServiceLB) on this node")
    p.add_argument("--disable-servicelb", action="store_true",
                   help="give LoadBalancer services no address on this node")
    p.add_argument("--service-cidr", default="10.43.0.0/16", help="the cluster's Service range")
    p.add_argument("--cluster-cidr", default="10.42.0.0/16", help="the cluster's pod range")
    p.add_argument("--cluster-dns", default="", help="the pods' DNS server (default the kube-dns "
                   "Service address, the tenth of --service-cidr)")
    p.add_argument("--cluster-domain", default="cluster.local", help="the cluster's DNS domain")
    _add_egress_arg(p)
    _add_oci_runtime_arg(p)
    _add_kubelet_port_arg(p)


def cmd_agent(args: argparse.Namespace) -> int:
    # The agent's modules load only for the commands that run it: a `kubelite scheduler`
    # child of the server need not carry them (about 15 MiB).
    from kubelite.agent.kubelet import agent as kubelet_agent
    from kubelite.agent.kubelet import dnsconfig
    from kubelite.agent.network.proxy import node as proxynode
    from kubelite.api import kubedns
    tls: ssl.SSLContext | bool = True
    if args.ca_file:
        tls = ssl.create_default_context(cafile=args.ca_file)
    data_dir = os.path.abspath(args.data_dir)
    opts = kubelet_agent.Options(data_dir=os.path.join(data_dir, "agent"), node_name=args.node_name,
                                 node_ip=args.node_ip, max_pods=args.max_pods,
                                 cluster_cidr=args.cluster_cidr,
                                 dns=dnsconfig.Settings(cluster_dns=(
                                     args.cluster_dns or kubedns.cluster_ip(args.service_cidr),),
                                     cluster_domain=args.cluster_domain),
                                 oci_runtime=args.oci_runtime,
                                 registries_file=os.path.join(data_dir, "registries.yaml"),
                                 api_port=args.kubelet_port, api_client_ca_pem=_read_text(args.ca_file),
                                 service_proxy=None if args.disable_service_proxy else proxynode.Options(
                                     cluster_cidr=args.cluster_cidr, service_cidr=args.service_cidr,
                                     egress_masquerade=args.egress_masquerade,
                                     servicelb=not args.disable_servicelb))

    async def main() -> None:
        client = rest.Client(args.server, ssl_context=tls, token=args.token, user_agent="kubelite-agent")
        try:
            await kubelet_agent.Agent(client, opts).run()
        finally:
            await client.close()
    return _run(main)


def _read_text(path: str) -> str:
    if not path:
        return ""
    with open(path, encoding="ascii") as f:
        return f.read()


def _run(main: Callable[[], Coroutine[Any, Any, None]],
         run: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run) -> int:
    """Run until SIGINT/SIGTERM, then shut down cleanly; `run` drives the event loop."""
    async def runner() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(main())
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        task.cancel()
        waiter.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    run(runner())
    return 0


def cmd_server(args: argparse.Namespace) -> int:
    from kubelite import server as server_mod  # here: `kubelite agent` need not load the server
    config = server_mod.ServerConfig(
        data_dir=os.path.abspath(args.data_dir), bind=args.bind, port=args.port,
        store=args.store, kubeconfig=args.write_kubeconfig,
        disable=frozenset(d.strip() for d in args.disable.split(",") if d.strip()),
        sim_nodes=args.sim_nodes, sim_lease_seconds=args.sim_lease_seconds,
        node_monitor_grace=args.node_monitor_grace_period,
        pod_eviction_timeout=args.pod_eviction_timeout, kubelet_port=args.kubelet_port,
        max_pods=args.max_pods, oci_runtime=args.oci_runtime,
        dns_upstreams=tuple(args.dns_upstream) or None,
        ingress=ingress_cli.options_from(args),
        egress_masquerade=args.egress_masquerade,
        node_ip=args.node_ip, node_networks=tuple(args.node_network),
        cluster_cidr=args.cluster_cidr,
    )
    return _run(lambda: server_mod.run(config))


def _with_client(kubeconfig: str, user_agent: str,
                 body: Callable[[rest.Client], Coroutine[Any, Any, None]],
                 run: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run) -> int:
    """Run a component against the API server: over the server's loopback socket when the
    server started this process as its child, else with the kubeconfig's credentials."""
    children.exit_with_parent()

    async def main() -> None:
        client = (children.loopback_client(user_agent)
                  or rest.Client.from_kubeconfig(kubeconfig, user_agent=user_agent))
        try:
            await body(client)
        finally:
            await client.close()
    return _run(main, run)


def cmd_scheduler(args: argparse.Namespace) -> int:
    from kubelite.scheduler import scheduler
    return _with_client(args.kubeconfig, "kubelite-scheduler", scheduler.run)


def cmd_controller_manager(args: argparse.Namespace) -> int:
    with open(args.kubeconfig) as f:
        cluster = (yaml.safe_load(f).get("clusters") or [{}])[0].get("cluster") or {}
    ca_data = cluster.get("certificate-authority-data")
    from kubelite.controllers import manager
    opts = manager.Options(ca_pem=base64.b64decode(ca_data).decode() if ca_data else "",
                           node_monitor_grace=args.node_monitor_grace_period,
                           pod_eviction_timeout=args.pod_eviction_timeout)
    return _with_client(args.kubeconfig, "kubelite-controller-manager",
                        lambda client: manager.run(client, opts))


def cmd_ingress(args: argparse.Namespace) -> int:
    from kubelite.ingress import controller, eventloop
    opts = ingress_cli.options_from(args)
    return _with_client(args.kubeconfig, controller.COMPONENT,
                        lambda client: controller.Controller(client, opts).run(), eventloop.run)


def cmd_sim(args: argparse.Namespace) -> int:
    from kubelite.agent import hollow
    opts = hollow.Options(count=args.nodes, prefix=args.prefix, lease_seconds=args.lease_seconds)
    return _with_client(args.kubeconfig, "kubelite-sim",
                        lambda client: hollow.HollowNodes(client, opts).run())


def cmd_kubectl(args: argparse.Namespace, rest: Sequence[str]) -> int:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl is not installed or not on PATH", file=sys.stderr)
        return 1
    path = os.path.join(args.data_dir, "kubeconfig.yaml")
    env = dict(os.environ)
    env.setdefault("KUBECONFIG", path)
    os.execve(kubectl, ["kubectl", *rest], env)
    return 1  # not reached


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="kubelite", description="a small Kubernetes")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_server_args(sub.add_parser("server", help="run the control plane (and a local node)"))
    _add_component_parsers(sub)
    _add_agent_parser(sub)
    _add_dns_parser(sub)
    ingress_cli.add_parser(sub)
    image_cli.add_parser(sub, os.environ.get("KUBELITE_DATA_DIR") or default_data_dir())
    kc = sub.add_parser("kubectl", help="run kubectl against this cluster", add_help=False)
    kc.add_argument("--data-dir", default=os.environ.get("KUBELITE_DATA_DIR") or default_data_dir())
    if argv and argv[0] == "kubectl":
        args, rest = kc.parse_known_args(argv[1:])
        return cmd_kubectl(args, rest)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "server":
        return cmd_server(args)
    if args.command == "image":
        return image_cli.run(args)
    commands = {"scheduler": cmd_scheduler, "controller-manager": cmd_controller_manager,
                "sim": cmd_sim, "agent": cmd_agent, "dns": cmd_dns,
                "ingress": cmd_ingress}
    if args.command in commands:
        return commands[args.command](args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
