"""The `kubelite` command: server, kubectl, and the standalone components."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import sys
from typing import Awaitable, Callable, Sequence

from kubelite import server as server_mod


def default_data_dir() -> str:
    if os.geteuid() == 0:
        return "/var/lib/kubelite"
    return os.path.join(os.path.expanduser("~"), ".kubelite")


def _add_server_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", default=os.environ.get("KUBELITE_DATA_DIR") or default_data_dir(),
                   help="where the store, certificates and kubeconfig live")
    p.add_argument("--bind", default="127.0.0.1", help="address the API server listens on")
    p.add_argument("--port", type=int, default=6443, help="HTTPS port of the API server")
    p.add_argument("--store", default="sqlite",
                   help='"sqlite" (embedded, default) or etcd://HOST:PORT[,HOST:PORT...]')
    p.add_argument("--write-kubeconfig", default="",
                   help="kubeconfig path to write (default <data-dir>/kubeconfig.yaml)")
    p.add_argument("--disable", default="", help="comma-separated bundled parts to switch off "
                   "(controllers, scheduler, agent)")
    p.add_argument("--sim-nodes", type=int, default=0,
                   help="register this many simulated (hollow) nodes")
    p.add_argument("--node-monitor-grace-period", type=float, default=40.0,
                   help="seconds without a node heartbeat before the node is NotReady")
    p.add_argument("--pod-eviction-timeout", type=float, default=300.0,
                   help="seconds pods tolerate an unready/unreachable node (default tolerations)")


def _run(main: Callable[[], Awaitable[None]]) -> int:
    """Run until SIGINT/SIGTERM, then shut down cleanly."""
    async def runner() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        task = asyncio.create_task(main())
        waiter = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        task.cancel()
        waiter.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
    asyncio.run(runner())
    return 0


def cmd_server(args: argparse.Namespace) -> int:
    config = server_mod.ServerConfig(
        data_dir=os.path.abspath(args.data_dir), bind=args.bind, port=args.port,
        store=args.store, kubeconfig=args.write_kubeconfig,
        disable=frozenset(d.strip() for d in args.disable.split(",") if d.strip()),
        sim_nodes=args.sim_nodes, node_monitor_grace=args.node_monitor_grace_period,
        pod_eviction_timeout=args.pod_eviction_timeout,
    )
    return _run(lambda: server_mod.run(config))


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
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
