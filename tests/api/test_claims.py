"""Which volume a claim gets (upstream's findBestMatchForClaim), table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api import claims

Obj = dict[str, Any]
RWO, ROX, RWX = "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany"


def pv(name: str, size: str, *modes: str, cls: str = "", phase: str = "Available",
       mode: str | None = None, labels: dict[str, str] | None = None,
       ref: Obj | None = None, deleting: bool = False) -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": list(modes or (RWO,)),
                 "storageClassName": cls}
    if mode:
        spec["volumeMode"] = mode
    if ref:
        spec["claimRef"] = ref
    meta: Obj = {"name": name, "labels": labels or {}}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


def claim(size: str = "1Gi", *modes: str, cls: str | None = "", mode: str | None = None,
          selector: Obj | None = None, notes: dict[str, str] | None = None) -> Obj:
    spec: Obj = {"accessModes": list(modes or (RWO,)),
                 "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if mode:
        spec["volumeMode"] = mode
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": "data", "namespace": "ns", "uid": "u1",
                         "annotations": notes or {}}, "spec": spec}


MINE = {"namespace": "ns", "name": "data"}
CASES = [
    ("smallest-fitting", [pv("a", "5Gi"), pv("b", "1Gi"), pv("c", "2Gi"), pv("d", "500Mi")],
     claim("1G"), "b"),
    ("units-compare-exactly", [pv("gi", "1Gi"), pv("g", "1G")], claim("1G"), "g"),
    ("none-large-enough", [pv("a", "500Mi")], claim("1Gi"), None),
    ("fewest-access-modes-first", [pv("many", "1Gi", RWO, ROX, RWX), pv("one", "5Gi", RWO)],
     claim("1Gi", RWO), "one"),
    ("modes-must-cover-the-claim", [pv("a", "1Gi", RWO)], claim("1Gi", RWO, RWX), None),
    ("superset-of-modes-fits", [pv("a", "1Gi", RWO, RWX)], claim("1Gi", RWX), "a"),
    ("class-must-equal", [pv("a", "1Gi", cls="slow")], claim(cls="fast"), None),
    ("no-class-matches-only-no-class", [pv("a", "1Gi", cls="slow"), pv("b", "9Gi")],
     claim(cls=""), "b"),
    ("absent-class-is-no-class", [pv("a", "1Gi")], claim(cls=None), "a"),
    ("beta-annotation-wins", [pv("a", "1Gi", cls="gold")],
     claim(cls="", notes={claims.BETA_CLASS: "gold"}), "a"),
    ("volume-mode-must-equal", [pv("a", "1Gi", mode="Block")], claim(), None),
    ("block-claims-block", [pv("a", "1Gi"), pv("b", "2Gi", mode="Block")],
     claim(mode="Block"), "b"),
    ("only-available-phase", [pv("a", "1Gi", phase="Released"), pv("b", "1Gi", phase="Pending")],
     claim(), None),
    ("selector", [pv("a", "1Gi", labels={"tier": "x"}), pv("b", "2Gi", labels={"tier": "y"})],
     claim(selector={"matchLabels": {"tier": "y"}}), "b"),
    ("claimed-by-other", [pv("a", "1Gi", ref={"namespace": "ns", "name": "other"})], claim(),
     None),
    ("prebound-beats-smaller", [pv("small", "1Gi"), pv("mine", "9Gi", ref=MINE)], claim(),
     "mine"),
    ("prebound-ignores-class-and-phase", [pv("mine", "1Gi", cls="x", phase="Bound", ref=MINE)],
     claim(), "mine"),
    ("prebound-other-uid", [pv("a", "1Gi", ref={**MINE, "uid": "u0"})], claim(), None),
    ("prebound-same-uid", [pv("a", "1Gi", ref={**MINE, "uid": "u1"})], claim(), "a"),
    ("prebound-too-small", [pv("a", "1Mi", ref=MINE)], claim(), None),
    ("deleting-skipped", [pv("a", "1Gi", deleting=True)], claim(), None),
]


@pytest.mark.parametrize(("volumes", "want_claim", "want"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_find_best_match(volumes: list[Obj], want_claim: Obj, want: str | None) -> None:
    got = claims.find_best_match(want_claim, volumes)
    assert (got["metadata"]["name"] if got else None) == want


@pytest.mark.parametrize(("volumes", "want"), [
    ([pv("free", "1Gi")], None),
    ([pv("free", "1Gi"), pv("made", "5Gi", ref={**MINE, "uid": "u1"})], "made"),
    ([pv("user", "1Gi", ref=MINE)], "user"),
], ids=["free-volume-left-alone", "volume-naming-the-claim", "user-prebound"])
def test_delayed_binding_takes_only_volumes_naming_the_claim(volumes: list[Obj],
                                                             want: str | None) -> None:
    got = claims.find_best_match(claim(), volumes, delay_binding=True)
    assert (got["metadata"]["name"] if got else None) == want


@pytest.mark.parametrize(("volume", "problem"), [
    (pv("a", "1Gi"), ""),
    (pv("a", "1Mi"), "requested PV is too small"),
    (pv("a", "1Gi", cls="x"), "storageClassName does not match"),
    (pv("a", "1Gi", mode="Block"), "incompatible volumeMode"),
    (pv("a", "1Gi", ROX), "incompatible accessMode"),
], ids=["fits", "small", "class", "mode", "access"])
def test_mismatch_of_a_named_volume(volume: Obj, problem: str) -> None:
    assert claims.mismatch(volume, claim()) == problem
