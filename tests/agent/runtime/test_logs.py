"""CRI log framing and rotation (no containers needed)."""

from __future__ import annotations

import os
import re

from kubelite.agent.runtime import logs

CRI_LINE = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [PF] ")


def open_bytes(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def test_lines_partials_and_streams(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "c" / "0.log")
    w = logs.LogWriter(path)
    w.write("stdout", b"one\ntw")
    w.write("stderr", b"err\n")
    w.write("stdout", b"o\nno newline")
    w.close()
    raw = open_bytes(path).splitlines()
    assert all(CRI_LINE.match(line) for line in raw)
    assert [line.split(b" ", 1)[1] for line in raw] == [
        b"stdout F one", b"stderr F err", b"stdout F two", b"stdout P no newline"]
    assert b"".join(logs.read(path)) == b"one\nerr\ntwo\nno newline"
    stamped = list(logs.read(path, timestamps=True))
    assert stamped[0].endswith(b"Z one\n") and CRI_LINE.match(raw[0])


def test_long_lines_are_split_as_partials(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "0.log")
    w = logs.LogWriter(path)
    w.write("stdout", b"x" * (logs.MAX_LINE * 2 + 5) + b"\n")
    w.close()
    tags = [line.split(b" ")[2] for line in open_bytes(path).splitlines()]
    assert tags == [b"P", b"P", b"F"]
    assert b"".join(logs.read(path)) == b"x" * (logs.MAX_LINE * 2 + 5) + b"\n"


def test_rotation_keeps_max_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = str(tmp_path / "0.log")
    w = logs.LogWriter(path, max_size=200, max_files=3)
    for i in range(40):
        w.write("stdout", b"line %d\n" % i)
    w.close()
    rotated = logs.rotated_files(path)
    assert len(rotated) == 2
    assert all(os.path.getsize(p) < 200 + 100 for p in [*rotated, path])
    kept = b"".join(b"".join(logs.read(p)) for p in [*rotated, path]).decode().split()
    numbers = [int(n) for n in kept[1::2]]
    assert numbers == list(range(numbers[0], 40)) and numbers[0] > 0  # newest kept, oldest dropped
