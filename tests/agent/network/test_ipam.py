"""Pod address allocation: order, persistence across restarts, release, exhaustion."""

from __future__ import annotations

import pathlib

import pytest

from kubelite.agent.network import ipam


def test_gateway_is_first_address_and_pods_get_the_next(tmp_path: pathlib.Path) -> None:
    a = ipam.IPAM(str(tmp_path), "10.42.3.0/24")
    assert str(a.gateway) == "10.42.3.1/24"
    assert [str(a.allocate(o)) for o in ("s1", "s2")] == ["10.42.3.2/24", "10.42.3.3/24"]
    assert a.owners() == {"10.42.3.2": "s1", "10.42.3.3": "s2"}


def test_same_owner_gets_its_address_back(tmp_path: pathlib.Path) -> None:
    a = ipam.IPAM(str(tmp_path), "10.42.0.0/24")
    assert a.allocate("s1") == a.allocate("s1")
    assert len(a.owners()) == 1


def test_restart_does_not_hand_out_an_address_twice(tmp_path: pathlib.Path) -> None:
    first = ipam.IPAM(str(tmp_path), "10.42.0.0/24").allocate("s1")
    again = ipam.IPAM(str(tmp_path), "10.42.0.0/24")
    assert again.allocate("s2") != first
    assert again.owners()[str(first.ip)] == "s1"


def test_released_address_is_not_reused_at_once(tmp_path: pathlib.Path) -> None:
    a = ipam.IPAM(str(tmp_path), "10.42.0.0/24")
    one = a.allocate("s1")
    assert a.release("s1") == [str(one.ip)]
    assert a.release("s1") == []
    assert str(a.allocate("s2").ip) == "10.42.0.3"
    assert a.owners() == {"10.42.0.3": "s2"}


def test_exhaustion_then_wrap_around_to_freed(tmp_path: pathlib.Path) -> None:
    a = ipam.IPAM(str(tmp_path), "10.42.0.0/29")     # .1 gateway, .2-.6 pods
    got = [str(a.allocate(f"s{i}").ip) for i in range(5)]
    assert got == ["10.42.0.2", "10.42.0.3", "10.42.0.4", "10.42.0.5", "10.42.0.6"]
    with pytest.raises(ipam.Exhausted):
        a.allocate("s5")
    a.release("s1")
    assert str(a.allocate("s5").ip) == "10.42.0.3"


def test_release_unless_frees_dead_owners(tmp_path: pathlib.Path) -> None:
    a = ipam.IPAM(str(tmp_path), "10.42.0.0/24")
    for o in ("live", "dead1", "dead2"):
        a.allocate(o)
    assert sorted(a.release_unless(lambda o: o == "live")) == ["10.42.0.3", "10.42.0.4"]
    assert list(a.owners().values()) == ["live"]


@pytest.mark.parametrize("cidr", ["10.42.0.0/31", "10.42.0.0/32"], ids=["slash31", "slash32"])
def test_too_small_cidr_is_refused(tmp_path: pathlib.Path, cidr: str) -> None:
    with pytest.raises(ValueError):
        ipam.IPAM(str(tmp_path), cidr)
