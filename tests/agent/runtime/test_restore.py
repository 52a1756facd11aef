"""Reloading the runtime's records after an agent restart: no root needed (runc is faked)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from kubelite.agent.runtime import protocol, reaper, restore, runc, sandbox


class FakeRunc(runc.Runc):
    """`runc state` answers from a table; deletes are recorded."""

    def __init__(self, states: dict[str, dict[str, Any]]) -> None:
        super().__init__()
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "deleted", [])

    async def state(self, cid: str) -> dict[str, Any]:
        states: dict[str, dict[str, Any]] = self.states  # type: ignore[attr-defined]
        if cid not in states:
            raise protocol.NotFound(f"runc state: container {cid} does not exist")
        return states[cid]

    async def delete(self, cid: str, *, force: bool = False) -> None:
        self.deleted.append(cid)  # type: ignore[attr-defined]


class Images:
    def image_info(self, ref: str) -> protocol.ImageInfo:
        raise protocol.NotFound(ref)


def _sandbox(root: str, sid: str, pause_pid: int) -> sandbox.Sandbox:
    cfg = protocol.PodSandboxConfig(name="p", namespace="ns", uid=f"uid-{sid}",
                                    dns=protocol.DNSConfig(searches=("a.svc",)),
                                    labels={"app": "x"})
    sb = sandbox.Sandbox(sid, cfg, os.path.join(root, "sandboxes", sid), f"kubelite-{sid}",
                         ips=("10.0.0.5",), pause_pid=pause_pid)
    os.makedirs(sb.dir)
    sb.save()
    return sb


def _container(root: str, cid: str, sid: str, state: str, exit_code: int = 0) -> None:
    bundle = os.path.join(root, "containers", cid)
    os.makedirs(bundle)
    doc = {"id": cid, "name": "main", "sandbox_id": sid, "image": "busybox", "image_ref": "sha",
           "state": state, "created_at": 1.0, "started_at": 2.0, "finished_at": 0.0,
           "exit_code": exit_code, "reason": "", "message": "", "pid": 0, "log_path": "/l",
           "attempt": 2, "labels": {}, "annotations": {}}
    with open(os.path.join(bundle, "status.json"), "w") as f:
        json.dump(doc, f)


def _saved_state(root: str, cid: str) -> str:
    with open(os.path.join(root, "containers", cid, "status.json")) as f:
        return str(json.load(f)["state"])


@pytest.fixture
def root(tmp_path: Any) -> str:
    for sub in ("sandboxes", "containers"):
        os.makedirs(tmp_path / sub)
    return str(tmp_path)


def test_sandbox_round_trips_and_a_dead_pause_is_noticed(root: str) -> None:
    live = _sandbox(root, "a", os.getpid())
    _sandbox(root, "b", 2 ** 22 + 7)     # no such pid
    got = restore.load_sandboxes(root)
    assert got["a"].config == live.config and got["a"].ips == ("10.0.0.5",)
    assert got["b"].pause_pid == 0


@pytest.mark.parametrize(("recorded", "runc_state", "want_state", "want_code", "deleted"), [
    ("running", {"status": "running", "pid": 4242}, protocol.RUNNING, 0, False),
    ("running", {"status": "stopped", "pid": 0}, protocol.EXITED, reaper.UNKNOWN_EXIT, False),
    ("running", None, protocol.EXITED, reaper.UNKNOWN_EXIT, False),
    ("created", {"status": "created", "pid": 4242}, protocol.EXITED, reaper.UNKNOWN_EXIT, True),
    ("exited", {"status": "stopped", "pid": 0}, protocol.EXITED, 3, False),
], ids=["still-running", "exited-while-down", "unknown-to-runc", "never-started", "exited-before"])
async def test_containers_agree_with_runc(root: str, recorded: str, runc_state: Any,
                                          want_state: str, want_code: int, deleted: bool) -> None:
    sandboxes = {"a": _sandbox(root, "a", os.getpid())}
    _container(root, "c1", "a", recorded, exit_code=3 if recorded == "exited" else 0)
    fake = FakeRunc({"c1": runc_state} if runc_state else {})
    [c] = await restore.load_containers(root, fake, Images(), sandboxes, "kubelite-test")
    assert (c.state, c.exited.is_set(), c.config.attempt) == (want_state, want_state == protocol.EXITED, 2)
    assert c.exit_code == want_code and (c.pid == 4242) == (want_state == protocol.RUNNING)
    assert ("c1" in fake.deleted) == deleted  # type: ignore[attr-defined]
    assert _saved_state(root, "c1") == want_state


async def test_bundle_of_an_unknown_sandbox_is_removed(root: str) -> None:
    _container(root, "c1", "gone", "running")
    fake = FakeRunc({})
    assert await restore.load_containers(root, fake, Images(), {}, "kubelite-test") == []
    assert not os.path.exists(os.path.join(root, "containers", "c1"))
    assert fake.deleted == ["c1"]  # type: ignore[attr-defined]
