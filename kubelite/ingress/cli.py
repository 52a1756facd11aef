"""Command-line flags of the ingress controller: `kubelite server --ingress-...` for the
bundled one, and `kubelite ingress --kubeconfig ...` to run it on its own."""

from __future__ import annotations

import argparse
import os

from kubelite.client import rest
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
    return controller.Options(bind=args.ingress_bind, http_port=args.ingress_http_port,
                              https_port=args.ingress_https_port, address=args.ingress_address)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("ingress", help="run the Ingress controller against an API server")
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG", ""), required=not
                   os.environ.get("KUBECONFIG"), help="kubeconfig of the API server")
    add_server_args(p)


async def serve(kubeconfig: str, options: controller.Options) -> None:
    """The controller with its own API connections, until cancelled."""
    client = rest.Client.from_kubeconfig(kubeconfig, user_agent=controller.COMPONENT)
    try:
        await controller.Controller(client, options).run()
    finally:
        await client.close()
