"""Default NoExecute tolerations for pods (DefaultTolerationSeconds)."""

from __future__ import annotations

from typing import Any

import pytest

from kubelite.api import registry
from kubelite.apiserver import admission_tolerations as at

Obj = dict[str, Any]
PODS = registry.Registry().by_api_version("v1", "Pod")
CONFIGMAPS = registry.Registry().by_api_version("v1", "ConfigMap")
NR = {"key": at.NOT_READY, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
UR = {"key": at.UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}


def pod(*tolerations: Obj) -> Obj:
    spec: Obj = {"containers": [{"name": "c", "image": "i"}]}
    if tolerations:
        spec["tolerations"] = list(tolerations)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize("given,want", [
    pytest.param([], [NR, UR], id="none"),
    pytest.param([{"key": at.UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                   "tolerationSeconds": 7}],
                 [{"key": at.UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                   "tolerationSeconds": 7}, NR], id="keeps-own-unreachable"),
    pytest.param([{"operator": "Exists"}], [{"operator": "Exists"}], id="tolerates-all"),
    pytest.param([{"key": at.NOT_READY, "operator": "Exists", "effect": "NoSchedule"}],
                 [{"key": at.NOT_READY, "operator": "Exists", "effect": "NoSchedule"}, NR, UR],
                 id="noschedule-does-not-count"),
])
async def test_create_adds_missing_defaults(given: list[Obj], want: list[Obj]) -> None:
    p = pod(*given)
    await at.default_tolerations(None, PODS, p, None)  # type: ignore[arg-type]
    assert p["spec"]["tolerations"] == want


async def test_status_update_with_unchanged_tolerations_is_left_alone() -> None:
    old, new = pod(), pod()
    await at.default_tolerations(None, PODS, new, old)  # type: ignore[arg-type]
    assert "tolerations" not in new["spec"]


async def test_other_kinds_are_left_alone() -> None:
    cm: Obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "spec": {}}
    await at.default_tolerations(None, CONFIGMAPS, cm, None)  # type: ignore[arg-type]
    assert cm["spec"] == {}


async def test_configured_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(at, "DEFAULT_TOLERATION_SECONDS", 300)
    at.configure(3)
    p = pod()
    await at.default_tolerations(None, PODS, p, None)  # type: ignore[arg-type]
    assert [t["tolerationSeconds"] for t in p["spec"]["tolerations"]] == [3, 3]
