"""Which Ingresses the controller serves and on which ports."""

from __future__ import annotations

import pytest

from kubelite.ingress import classes
from tests.ingress.builders import ingress, ingress_class

DEFAULT = classes.EntryPoint(http_port=80, https_port=443)


def names(listener: classes.Listener) -> list[str]:
    return sorted(i["metadata"]["name"] for i in listener.ingresses)


def test_each_class_on_its_own_ports() -> None:
    plan = classes.plan(
        [ingress("web", cls="public"), ingress("ops", cls="admin")],
        [ingress_class("public"), ingress_class("admin", http="8080", https="8443")], DEFAULT)
    assert {p: lst.scheme for p, lst in plan.items()} == {
        80: "http", 443: "https", 8080: "http", 8443: "https"}
    assert names(plan[80]) == names(plan[443]) == ["web"]
    assert names(plan[8080]) == names(plan[8443]) == ["ops"]


def test_classes_sharing_a_port_share_its_table() -> None:
    plan = classes.plan([ingress("a", cls="one"), ingress("b", cls="two")],
                        [ingress_class("one"), ingress_class("two")], DEFAULT)
    assert names(plan[80]) == ["a", "b"]


def test_zero_switches_a_port_off() -> None:
    plan = classes.plan([], [ingress_class("plain", https="0")], DEFAULT)
    assert set(plan) == {80}


def test_other_controllers_classes_are_ignored() -> None:
    plan = classes.plan([ingress("a", cls="nginx")],
                        [ingress_class("nginx", controller="k8s.io/ingress-nginx")], DEFAULT)
    assert plan == {}


def test_unknown_class_is_not_served() -> None:
    plan = classes.plan([ingress("a", cls="missing")], [ingress_class("mine")], DEFAULT)
    assert names(plan[80]) == []


@pytest.mark.parametrize("ing,want", [
    (ingress("no-class"), ["no-class"]),
    (ingress("legacy", annotations={"kubernetes.io/ingress.class": "dflt"}), ["legacy"]),
    (ingress("legacy-other", annotations={"kubernetes.io/ingress.class": "other"}), []),
    (ingress("explicit", cls="other"), []),
], ids=["no-class-uses-default", "legacy-annotation", "legacy-annotation-other",
        "explicit-other"])
def test_ingress_without_class_goes_to_the_default(ing: dict, want: list[str]) -> None:
    plan = classes.plan([ing], [ingress_class("dflt", default=True),
                                ingress_class("other", http="81", https="0")], DEFAULT)
    assert names(plan[80]) == want


def test_no_default_class_means_classless_ingresses_are_not_served() -> None:
    plan = classes.plan([ingress("no-class")], [ingress_class("mine")], DEFAULT)
    assert names(plan[80]) == []


def test_newest_default_class_wins() -> None:
    plan = classes.plan([ingress("x")], [
        ingress_class("old", default=True, http="81", https="0", created="2026-01-01T00:00:00Z"),
        ingress_class("new", default=True, http="82", https="0", created="2026-02-01T00:00:00Z")],
        DEFAULT)
    assert names(plan[82]) == ["x"] and names(plan[81]) == []


def test_bad_port_annotation_skips_the_class() -> None:
    plan = classes.plan([ingress("a", cls="bad")], [ingress_class("bad", http="eighty")], DEFAULT)
    assert plan == {}


def test_port_claimed_with_two_schemes_keeps_the_first() -> None:
    plan = classes.plan([ingress("a", cls="a"), ingress("b", cls="b")],
                        [ingress_class("a", http="9000", https="0"),
                         ingress_class("b", http="0", https="9000")], DEFAULT)
    assert plan[9000].scheme == "http" and names(plan[9000]) == ["a"]
