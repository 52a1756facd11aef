"""Command-line flags of the ingress controller: `kubelite server --ingress-...` for the
bundled one, and `kubelite ingress --kubeconfig ...` to run it on its own.

The server runs its bundled controller as a child process, `kubelite ingress` (as k3s runs
Traefik apart from the server): proxying is CPU-bound Python, and in its own interpreter it
uses the second core instead of queueing behind the API server on one event loop. The child
ends with the server (PR_SET_PDEATHSIG) even when the server is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import logging
import os
import signal
import sys

from kubelite.client import rest
from kubelite.ingress import controller

log = logging.getLogger(__name__)

PARENT_ENV = "KUBELITE_INGRESS_PARENT"  # set by serve_child: the pid to exit with
PR_SET_PDEATHSIG = 1


def add_server_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ingress-bind", default="127.0.0.1",
                   help="address the Ingress ports listen on (0.0.0.0: every interface)")
    p.add_argument("--ingress-http-port", type=int, default=80,
                   help="HTTP port of IngressClasses without their own (0: none)")
    p.add_argument("--ingress-https-port", type=int, default=443,
                   help="HTTPS port of IngressClasses without their own (0: none)")
    p.add_argument("--ingress-address", default="",
                   help="address written to Ingresses' status.loadBalancer (default: the bind "
                   "address)")


def options_from(args: argparse.Namespace) -> controller.Options:
    """The controller's options; in `kubelite server` a wildcard bind reports the bundled
    node's --node-ip in Ingress status, as it is that node's address."""
    address = args.ingress_address
    if not address and args.ingress_bind in ("0.0.0.0", "::"):
        address = getattr(args, "node_ip", "")
    return controller.Options(bind=args.ingress_bind, http_port=args.ingress_http_port,
                              https_port=args.ingress_https_port, address=address)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingress", help="run the Ingress controller against an API server")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""), required=not
                   os.environ.get("KUBECONFIG"), help="kubeconfig of the API server")
    add_server_args(p)


def child_args(kubeconfig: str, options: controller.Options) -> list[str]:
    return [sys.executable, "-m", "kubelite.cli", "ingress", "--kubeconfig", kubeconfig,
            "--ingress-bind", options.bind, "--ingress-http-port", str(options.http_port),
            "--ingress-https-port", str(options.https_port),
            "--ingress-address", options.address]


async def serve_child(kubeconfig: str, options: controller.Options) -> None:
    """Run `kubelite ingress` as a child until cancelled; its exit is an error (the
    caller's supervisor restarts it). Its logs go where the server's go."""
    proc = await asyncio.create_subprocess_exec(
        *child_args(kubeconfig, options), stdin=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # a terminal's Ctrl-C reaches the server, which stops it
        env={**os.environ, PARENT_ENV: str(os.getpid())})
    try:
        code = await proc.wait()
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
    raise RuntimeError(f"ingress process exited code={code}")


def _exit_with_parent() -> None:
    """When started by serve_child: die with the server, and at once if it is gone."""
    parent = os.environ.pop(PARENT_ENV, "")
    if not parent:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("cannot follow the server's exit errno=%d", ctypes.get_errno())
    if os.getppid() != int(parent):
        sys.exit("kubelite ingress: the server that started it is gone")


async def serve(kubeconfig: str, options: controller.Options) -> None:
    """The controller with its own API connections, until cancelled."""
    _exit_with_parent()
    client = rest.Client.from_kubeconfig(kubeconfig, user_agent=controller.COMPONENT)
    try:
        await controller.Controller(client, options).run()
    finally:
        await client.close()
