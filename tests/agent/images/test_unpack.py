"""Layer unpacking: overlay whiteouts, opaque dirs, and refusal to write outside the layer."""

from __future__ import annotations

import os
import stat

import pytest

from kubelite.agent.images import unpack
from tests.agent.images import builder


def unpack_entries(tmp_path, entries) -> str:  # type: ignore[no-untyped-def]
    blob = tmp_path / "layer.tar"
    blob.write_bytes(builder.tar_bytes(entries))
    dest = tmp_path / "out"
    dest.mkdir()
    assert unpack.unpack(str(blob), str(dest)) == builder.sha(blob.read_bytes())
    return str(dest)


def test_whiteouts_become_overlay_whiteouts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    dest = unpack_entries(tmp_path, [("dir", "etc", b""), ("file", "etc/.wh.passwd", b""),
                                     ("dir", "var", b""), ("file", "var/.wh..wh..opq", b""),
                                     ("file", "var/new", "x")])
    st = os.lstat(os.path.join(dest, "etc/passwd"))
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert os.getxattr(os.path.join(dest, "var"), "trusted.overlay.opaque") == b"y"
    assert sorted(os.listdir(os.path.join(dest, "var"))) == ["new"]


@pytest.mark.parametrize("entries", [
    [("file", "../evil", "x")],
    [("symlink", "etc", "/tmp"), ("file", "etc/evil", "x")],
    [("symlink", "up", "../.."), ("file", "up/evil", "x")],
], ids=["dotdot", "absolute-symlink-parent", "relative-symlink-parent"])
def test_nothing_escapes_the_layer(tmp_path, entries) -> None:  # type: ignore[no-untyped-def]
    blob = tmp_path / "layer.tar"
    blob.write_bytes(builder.tar_bytes(entries))
    dest = tmp_path / "a" / "b" / "out"
    dest.mkdir(parents=True)
    try:
        unpack.unpack(str(blob), str(dest))
    except unpack.LayerError:
        pass
    assert not os.path.exists("/tmp/evil")
    assert not (tmp_path / "a" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not (tmp_path / "a" / "b" / "evil").exists()


def test_gzip_layers_report_uncompressed_diff_id(tmp_path) -> None:  # type: ignore[no-untyped-def]
    raw = builder.tar_bytes([("file", "hello", "world")])
    image = builder.Image([raw])
    blob = tmp_path / "layer.tgz"
    blob.write_bytes(image.gz_layers()[0])
    (tmp_path / "out").mkdir()
    assert unpack.unpack(str(blob), str(tmp_path / "out")) == builder.sha(raw)
    assert (tmp_path / "out" / "hello").read_text() == "world"
