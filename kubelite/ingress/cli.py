"""Command-line flags of the ingress controller: `kubelite server --ingress-...` for the
bundled one, and `kubelite ingress --kubeconfig ...` to run it on its own.

The server runs its bundled controller as a child process, `kubelite ingress` (as k3s runs
Traefik apart from the server; see children.py): proxying is CPU-bound Python, and in its
own interpreter it uses the second core instead of queueing behind the API server on one
event loop.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded by the commands that run it: the server's other children skip it
    from kubelite.ingress import controller


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
    from kubelite.ingress import controller
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
    """`kubelite ingress ...` as the server starts it (children.serve)."""
    return ["ingress", "--kubeconfig", kubeconfig, "--ingress-bind", options.bind,
            "--ingress-http-port", str(options.http_port),
            "--ingress-https-port", str(options.https_port),
            "--ingress-address", options.address]

