"""The proxy's tests run on the event loop the `kubelite ingress` process runs on."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pytest

from kubelite.ingress import eventloop


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item
                                  ) -> Mapping[str, Callable[[], eventloop.Loop]]:
    return {"uvloop": eventloop.Loop}
