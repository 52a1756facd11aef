import pytest

from kubelite.agent.images import reference


@pytest.mark.parametrize("text,name", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("user/app", "docker.io/user/app:latest"),
    ("index.docker.io/library/busybox", "docker.io/library/busybox:latest"),
    ("127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1"),
    ("localhost/a/b", "localhost/a/b:latest"),
    ("quay.io/x/y@sha256:" + "a" * 64, "quay.io/x/y@sha256:" + "a" * 64),
    ("ghcr.io/x/y:t@sha256:" + "b" * 64, "ghcr.io/x/y:t"),
], ids=["short", "tag", "user-repo", "index-alias", "host-port", "localhost", "digest", "tag-and-digest"])
def test_normalises_like_docker(text: str, name: str) -> None:
    assert reference.parse(text).name == name


@pytest.mark.parametrize("text", ["Busybox", "busybox:", "a@sha256:xyz", "", "a//b"],
                         ids=["uppercase", "empty-tag", "bad-digest", "empty", "empty-component"])
def test_rejects_invalid(text: str) -> None:
    with pytest.raises(reference.InvalidReference):
        reference.parse(text)


def test_locator_prefers_digest() -> None:
    ref = reference.parse("ghcr.io/x/y:t@sha256:" + "b" * 64)
    assert ref.locator == "sha256:" + "b" * 64
