"""Which service proxy the bundled agent gets from `kubelite server` flags (pure)."""

from __future__ import annotations

import pytest

from kubelite import cli, server
from kubelite.agent.network.proxy import node as proxynode


def config(monkeypatch: pytest.MonkeyPatch, *argv: str) -> server.ServerConfig:
    """The ServerConfig `kubelite server argv...` would run with."""
    captured: list[server.ServerConfig] = []
    monkeypatch.setattr(server, "run", captured.append)
    monkeypatch.setattr(cli, "_run", lambda main: main() or 0)
    cli.main(["server", "--data-dir", "/nonexistent", *argv])
    return captured[0]


@pytest.mark.parametrize("argv,want", [
    ((), proxynode.Options(egress_masquerade=True, servicelb=True)),
    (("--no-egress-masquerade",), proxynode.Options(egress_masquerade=False)),
    (("--disable", "servicelb"), proxynode.Options(servicelb=False)),
    (("--disable", "service-proxy"), None)],
    ids=["default", "no-egress-masquerade", "no-servicelb", "no-proxy"])
def test_server_flags_choose_the_proxy(argv: tuple[str, ...], want: proxynode.Options | None,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    got = server._proxy_options(config(monkeypatch, *argv), "10.43.0.0/16")
    assert got == want
