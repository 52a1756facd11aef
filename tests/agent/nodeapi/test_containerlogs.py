"""Rendering CRI log files as `kubectl logs` shows them: partial lines, tail, limits, since."""

from __future__ import annotations

import pytest

from kubelite.agent.nodeapi import containerlogs
from kubelite.agent.runtime import logs

T1, T2, T3 = (f"2024-01-01T00:00:0{i}.000000000Z" for i in (1, 2, 3))
RECORDS = [logs.parse(line.encode()) for line in (
    f"{T1} stdout F one", f"{T2} stdout P tw", f"{T2} stderr F o", f"{T3} stdout F three")]


@pytest.mark.parametrize(("query", "want"), [
    ({}, b"one\ntwo\nthree\n"),
    ({"tailLines": "1"}, b"three\n"),
    ({"tailLines": "2"}, b"two\nthree\n"),
    ({"tailLines": "0"}, b""),
    ({"timestamps": "true"}, f"{T1} one\n{T2} two\n{T3} three\n".encode()),
    ({"limitBytes": "5"}, b"one\nt"),
    ({"sinceTime": "2024-01-01T00:00:02Z"}, b"two\nthree\n"),
], ids=["all", "tail-1", "tail-joins-partials", "tail-0", "timestamps", "limit", "since-time"])
def test_render(query: dict[str, str], want: bytes) -> None:
    opts = containerlogs.Options.parse(query)
    renderer = containerlogs.Renderer(opts)
    assert renderer.render(containerlogs.tail(RECORDS, opts.tail_lines)) == want


@pytest.mark.parametrize("query", [{"tailLines": "x"}, {"tailLines": "-1"}, {"limitBytes": "0"},
                                   {"sinceTime": "yesterday"}],
                         ids=["not-a-number", "negative", "zero-limit", "bad-time"])
def test_invalid_options(query: dict[str, str]) -> None:
    with pytest.raises(containerlogs.InvalidOptions):
        containerlogs.Options.parse(query)


async def test_follow_stops_when_the_container_stops(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "0.log")
    writer = logs.LogWriter(path)
    writer.write("stdout", b"first\n")
    out: list[bytes] = []
    calls = 0

    async def running() -> bool:
        nonlocal calls
        calls += 1
        if calls == 2:
            writer.write("stdout", b"last\n")  # written just before the exit was seen
        return calls < 2

    async def write(data: bytes) -> None:
        out.append(data)
    await containerlogs.stream(path, containerlogs.Options(follow=True), write, running)
    writer.close()
    assert b"".join(out) == b"first\nlast\n"
