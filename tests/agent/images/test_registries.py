import pytest

from kubelite.agent.images import reference, registries


def test_mirror_first_then_registry_itself() -> None:
    cfg = registries.from_dict({"mirrors": {"docker.io": {"endpoint": ["http://127.0.0.1:5000/"]}},
                                "configs": {"127.0.0.1:5000": {"auth": {"username": "u", "password": "p"}}}})
    eps = cfg.endpoints(reference.parse("busybox"))
    assert [e.url for e in eps] == ["http://127.0.0.1:5000", "https://registry-1.docker.io"]
    assert eps[0].credentials == registries.Credentials("u", "p")
    assert eps[1].credentials is None


def test_fallback_false_keeps_pulls_on_the_mirror() -> None:
    cfg = registries.from_dict({"mirrors": {"docker.io": {"endpoint": ["http://127.0.0.1:5000"],
                                                          "fallback": False}}})
    assert [e.url for e in cfg.endpoints(reference.parse("busybox"))] == ["http://127.0.0.1:5000"]


@pytest.mark.parametrize("host,url", [
    ("127.0.0.1:5000", "http://127.0.0.1:5000"), ("localhost:5000", "http://localhost:5000"),
    ("quay.io", "https://quay.io"), ("docker.io", "https://registry-1.docker.io"),
], ids=["loopback-ip", "localhost", "public", "hub"])
def test_default_endpoint(host: str, url: str) -> None:
    assert registries.default_endpoint(host) == url


def test_unknown_keys_fail_loudly() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        registries.from_dict({"mirror": {}})


def test_missing_file_is_empty_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert registries.load(str(tmp_path / "none.yaml")) == registries.Config()
