from __future__ import annotations

import os

import pytest

from kubelite.agent.kubelet import atomicdir, envs


def test_atomic_dir_updates_in_place_through_data_symlink(tmp_path) -> None:  # type: ignore[no-untyped-def]
    target = str(tmp_path / "vol")
    assert atomicdir.write(target, {"a": (b"1", 0o644), "b": (b"2", 0o400)})
    first = os.readlink(os.path.join(target, "..data"))
    assert not atomicdir.write(target, {"a": (b"1", 0o644), "b": (b"2", 0o400)})
    assert atomicdir.write(target, {"a": (b"changed", 0o644)})
    with open(os.path.join(target, "a"), "rb") as f:
        assert f.read() == b"changed"
    assert not os.path.lexists(os.path.join(target, "b"))
    assert not os.path.exists(os.path.join(target, first))
    assert os.readlink(os.path.join(target, "a")) == "..data/a"


@pytest.mark.parametrize(("text", "expected"), [
    ("$(A)-x", "1-x"), ("$(MISSING)", "$(MISSING)"), ("$$(A)", "$(A)"), ("a$b", "a$b"),
], ids=["defined", "undefined-kept", "escaped", "plain-dollar"])
def test_expand(text: str, expected: str) -> None:
    assert envs.expand(text, {"A": "1"}) == expected
