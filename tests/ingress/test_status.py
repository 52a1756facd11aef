"""What the controller writes to status.loadBalancer."""

from __future__ import annotations

import socket

import pytest

from kubelite.ingress import controller


@pytest.mark.parametrize("options,want", [
    (controller.Options(bind="127.0.0.1"), {"ip": "127.0.0.1"}),
    (controller.Options(bind="0.0.0.0", address="10.0.0.5"), {"ip": "10.0.0.5"}),
    (controller.Options(bind="::1"), {"ip": "::1"}),
    (controller.Options(address="lb.example.com"), {"hostname": "lb.example.com"}),
    (controller.Options(bind="0.0.0.0"), {"hostname": socket.gethostname()}),
], ids=["bind", "address-flag", "ipv6", "hostname", "wildcard-bind"])
def test_status_names_the_address(options: controller.Options, want: dict[str, str]) -> None:
    status = controller.load_balancer_status(controller.status_address(options))
    assert status == {"loadBalancer": {"ingress": [want]}}
