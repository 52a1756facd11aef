"""A container's environment: env (value, valueFrom) and envFrom, with $(VAR) expansion.

Order and precedence as upstream: envFrom sources first, then env entries, later entries
overriding earlier ones. A missing ConfigMap/Secret or key raises objects.Missing (shown
as CreateContainerConfigError) unless the reference is optional.
"""

from __future__ import annotations

import re
from typing import Any

from kubelite.agent.kubelet import fieldpath, objects

Obj = dict[str, Any]
_REF = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined names replaced, $$ escapes, others kept."""
    def repl(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _REF.sub(repl, text)


async def _source(objs: objects.Objects, ns: str, kind: str, ref: Obj) -> dict[str, bytes]:
    data = await objs.data(kind, ns, ref["name"])
    if data is None:
        if ref.get("optional"):
            return {}
        raise objects.Missing(objects.describe(kind, ns, ref["name"]))
    return data


async def _value_from(objs: objects.Objects, pod: Obj, container: Obj, src: Obj) -> str | None:
    ns = pod["metadata"]["namespace"]
    if "fieldRef" in src:
        return fieldpath.field_ref(pod, src["fieldRef"]["fieldPath"])
    if "resourceFieldRef" in src:
        return fieldpath.resource_ref(container, src["resourceFieldRef"])
    for kind, key in (("configMap", "configMapKeyRef"), ("secret", "secretKeyRef")):
        if key in src:
            ref = src[key]
            data = await _source(objs, ns, kind, ref)
            if ref["key"] not in data:
                if ref.get("optional"):
                    return None
                raise objects.Missing(f"couldn't find key {ref['key']} in "
                                      f"{'ConfigMap' if kind == 'configMap' else 'Secret'} "
                                      f"{ns}/{ref['name']}")
            return data[ref["key"]].decode(errors="replace")
    raise ValueError(f"unsupported valueFrom {sorted(src)}")


async def resolve(objs: objects.Objects, pod: Obj, container: Obj) -> list[tuple[str, str]]:
    """The container's environment as ordered (name, value) pairs."""
    env: dict[str, str] = {}
    ns = pod["metadata"]["namespace"]
    for src in container.get("envFrom") or []:
        kind = "configMap" if "configMapRef" in src else "secret"
        data = await _source(objs, ns, kind, src.get("configMapRef") or src.get("secretRef") or {})
        for key, raw in data.items():
            env[src.get("prefix", "") + key] = raw.decode(errors="replace")
    for item in container.get("env") or []:
        if "valueFrom" in item:
            found = await _value_from(objs, pod, container, item["valueFrom"])
            if found is None:
                continue
            env[item["name"]] = found
        else:
            env[item["name"]] = expand(item.get("value", ""), env)
    return list(env.items())
