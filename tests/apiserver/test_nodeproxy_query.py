"""What the API server asks the node agent for, from a streaming request's query."""

from __future__ import annotations

import pytest
from multidict import MultiDict

from kubelite.api import errors
from kubelite.apiserver import nodeproxy


@pytest.mark.parametrize(("query", "forwarding", "want"), [
    ([("container", "a"), ("command", "ls"), ("command", "-l"), ("stdout", "1")], False,
     [("command", "ls"), ("command", "-l"), ("stdout", "1")]),
    ([("ports", "8080,9090"), ("ports", "80")], True,
     [("port", "8080"), ("port", "9090"), ("port", "80")]),
    ([("port", "81"), ("container", "a")], True, [("port", "81")]),
    ([], True, []),
], ids=["exec-drops-container", "ports-become-port", "port-kept", "kubectl-spdy-none"])
def test_agent_query(query: list[tuple[str, str]], forwarding: bool,
                     want: list[tuple[str, str]]) -> None:
    assert nodeproxy.agent_query(MultiDict(query), forwarding) == want


@pytest.mark.parametrize("ports", ["0", "65536", "http", ""], ids=["zero", "too-big", "name", "empty"])
def test_bad_ports_are_bad_requests(ports: str) -> None:
    with pytest.raises(errors.BadRequest, match="as a port for portforward"):
        nodeproxy.agent_query(MultiDict([("ports", ports)]), True)
