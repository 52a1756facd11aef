"""Pod volumes on the host, under `<pods dir>/<uid>/volumes/<name>`, bind-mounted into
containers by the runtime.

emptyDir (medium Memory: a tmpfs), hostPath, and the file-projecting kinds (configMap,
secret, downwardAPI, projected) written with atomicdir, so re-running `setup` on every
pod sync updates them in place when their source changes. A missing non-optional
ConfigMap/Secret raises objects.Missing: the caller emits FailedMount and retries.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from kubelite.agent.kubelet import atomicdir, fieldpath, objects
from kubelite.agent.runtime import protocol
from kubelite.api import quantity

Obj = dict[str, Any]
PROJECTED = ("configMap", "secret", "downwardAPI", "projected")


def volume_dir(pod_dir: str, name: str) -> str:
    return os.path.join(pod_dir, "volumes", name)


async def setup(objs: objects.Objects, pod: Obj, pod_dir: str) -> dict[str, str]:
    """Create or refresh every volume of the pod; return name -> host path."""
    out = {}
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        try:
            out[vol["name"]] = await _setup_one(objs, pod, vol, volume_dir(pod_dir, vol["name"]))
        except (objects.Missing, ValueError, OSError, subprocess.CalledProcessError) as e:
            raise objects.Missing(f'MountVolume.SetUp failed for volume "{vol["name"]}" : {e}') from e
    return out


async def _setup_one(objs: objects.Objects, pod: Obj, vol: Obj, path: str) -> str:
    if "emptyDir" in vol:
        return _empty_dir(vol["emptyDir"] or {}, path)
    if "hostPath" in vol:
        return _host_path(vol["hostPath"])
    for kind in PROJECTED:
        if kind in vol:
            files = await _files(objs, pod, kind, vol[kind] or {})
            atomicdir.write(path, files)
            return path
    raise ValueError(f"unsupported volume type in {sorted(k for k in vol if k != 'name')}")


def _empty_dir(src: Obj, path: str) -> str:
    if os.path.isdir(path):
        return path
    os.makedirs(path, mode=0o777)
    os.chmod(path, 0o777)
    if src.get("medium") == "Memory":
        opts = "mode=1777"
        if src.get("sizeLimit"):
            opts += f",size={int(quantity.parse(src['sizeLimit']).amount)}"
        subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", path], check=True,
                       capture_output=True)
    return path


def _host_path(src: Obj) -> str:
    path, kind = src["path"], src.get("type") or ""
    if kind == "DirectoryOrCreate":
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif kind == "FileOrCreate" and not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        open(path, "a").close()
    checks = {"Directory": os.path.isdir, "File": os.path.isfile, "Socket": os.path.exists,
              "CharDevice": os.path.exists, "BlockDevice": os.path.exists}
    if kind in checks and not checks[kind](path):
        raise objects.Missing(f"hostPath type check failed: {path} is not a {kind}")
    return path


async def _files(objs: objects.Objects, pod: Obj, kind: str, src: Obj) -> atomicdir.Files:
    """The file set of a configMap/secret/downwardAPI/projected volume source."""
    mode = int(src.get("defaultMode", 0o644))
    if kind == "projected":
        out: atomicdir.Files = {}
        for source in src.get("sources") or []:
            for sub in ("configMap", "secret", "downwardAPI"):
                if sub in source:
                    out.update(await _files(objs, pod, sub, {"defaultMode": mode, **source[sub]}))
        return out
    if kind == "downwardAPI":
        return {item["path"]: (_downward(pod, item).encode(), int(item.get("mode", mode)))
                for item in src.get("items") or []}
    ns, name = pod["metadata"]["namespace"], src.get("name") or src.get("secretName") or ""
    data = await objs.data(kind, ns, name)
    if data is None:
        if src.get("optional"):
            return {}
        raise objects.Missing(objects.describe(kind, ns, name))
    if not src.get("items"):
        return {key: (value, mode) for key, value in data.items()}
    out = {}
    for item in src["items"]:
        if item["key"] not in data:
            if src.get("optional"):
                continue
            raise objects.Missing(f"configmap references non-existent config key: {item['key']}")
        out[item["path"]] = (data[item["key"]], int(item.get("mode", mode)))
    return out


def _downward(pod: Obj, item: Obj) -> str:
    if "fieldRef" in item:
        return fieldpath.field_ref(pod, item["fieldRef"]["fieldPath"])
    ref = item["resourceFieldRef"]
    containers = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or []}
    return fieldpath.resource_ref(containers.get(ref.get("containerName", ""), {}), ref)


def mounts(container: Obj, paths: dict[str, str]) -> tuple[protocol.Mount, ...]:
    """The container's volumeMounts as runtime bind mounts."""
    out = []
    for vm in container.get("volumeMounts") or []:
        host = paths[vm["name"]]
        if vm.get("subPath"):
            host = os.path.join(host, vm["subPath"])
            if not os.path.exists(host):
                os.makedirs(host, exist_ok=True)
        out.append(protocol.Mount(host_path=host, container_path=vm["mountPath"],
                                  readonly=bool(vm.get("readOnly")),
                                  propagation=vm.get("mountPropagation") or "private"))
    return tuple(out)


def teardown(pod_dir: str) -> None:
    """Unmount everything mounted under the pod's dir (tmpfs emptyDirs), then remove it."""
    prefix = os.path.realpath(pod_dir) + "/"
    with open("/proc/mounts", encoding="utf-8") as f:
        points = [line.split()[1] for line in f]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", point], check=False, capture_output=True)
    shutil.rmtree(pod_dir, ignore_errors=True)
