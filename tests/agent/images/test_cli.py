"""`kubelite image import|ls|rm|pull` through the real entry point."""

from __future__ import annotations

import pytest

from kubelite import cli
from tests.agent.images import builder


def test_import_ls_rm(tmp_path, capsys: pytest.CaptureFixture[str], busybox_layer: bytes) -> None:  # type: ignore[no-untyped-def]
    root = str(tmp_path / "kubelite-store")
    builder.Image([busybox_layer]).docker_save(str(tmp_path / "a.tar"), "kubelite/app:v1")
    assert cli.main(["image", "--root", root, "import", str(tmp_path / "a.tar")]) == 0
    assert cli.main(["image", "--root", root, "ls"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("imported docker.io/kubelite/app:v1 sha256:")
    assert out[1].split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    assert out[2].split()[:2] == ["docker.io/kubelite/app", "v1"]
    assert cli.main(["image", "--root", root, "rm", "kubelite/app:v1"]) == 0
    assert cli.main(["image", "--root", root, "rm", "kubelite/app:v1"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "Deleted: docker.io/kubelite/app:v1\n"
    assert "not found" in captured.err


def test_pull_uses_the_registries_file(tmp_path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                       registry: builder.Registry, busybox_layer: bytes) -> None:
    registry.push("library/busybox", "cli", builder.Image([busybox_layer]))
    regs = tmp_path / "registries.yaml"
    regs.write_text(f"mirrors:\n  docker.io:\n    endpoint: [\"{registry.url}\"]\n    fallback: false\n")
    root = str(tmp_path / "kubelite-store")
    assert cli.main(["image", "--root", root, "--registries", str(regs), "pull", "busybox:cli"]) == 0
    assert "docker.io/library/busybox:cli" in capsys.readouterr().out
    assert cli.main(["image", "--root", root, "--registries", str(regs), "pull", "busybox:none"]) == 1
    assert "404" in capsys.readouterr().err
