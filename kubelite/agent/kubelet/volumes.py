"""Pod volumes on the host, under `<pods dir>/<uid>/volumes/<name>`, bind-mounted into
containers by the runtime.

emptyDir (medium Memory: a tmpfs), hostPath, and the file-projecting kinds (configMap,
secret, downwardAPI, projected) written with atomicdir, so re-running `setup` on every
pod sync updates them in place when their source changes. A missing non-optional
ConfigMap/Secret raises objects.Missing: the caller emits FailedMount and retries.

A persistentVolumeClaim volume is the directory of the PersistentVolume bound to the claim
(hostPath or local); once resolved, `<pods dir>/<uid>/volumes/<name>` is a symlink to it, so
a running pod keeps its volume whatever later happens to the claim (as a kubelet keeps a
mounted volume). A claim with readOnly: true is mounted read-only in every container. An
ephemeral volume is the claim `<pod>-<volume>` that the ephemeral volume controller made
for the pod; one the pod does not own is refused.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

from kubelite.agent.kubelet import atomicdir, fieldpath, objects
from kubelite.agent.runtime import protocol
from kubelite.api import claims, quantity

Obj = dict[str, Any]
PROJECTED = ("configMap", "secret", "downwardAPI", "projected")
PROVISIONED_BY = claims.PROVISIONED_BY
LOCAL_PATH_PROVISIONER = claims.LOCAL_PATH_PROVISIONER
# PersistentVolumeSpec fields that are not the volume's source.
PV_NOT_SOURCE = frozenset({
    "accessModes", "capacity", "claimRef", "mountOptions", "nodeAffinity",
    "persistentVolumeReclaimPolicy", "storageClassName", "volumeMode",
    "volumeAttributesClassName"})


class Paths(dict[str, str]):
    """Volume name -> host path, plus the volumes every container mounts read-only."""

    def __init__(self) -> None:
        super().__init__()
        self.readonly: set[str] = set()


class _Unprocessed(objects.Missing):
    """The claim behind a volume does not resolve to a usable PersistentVolume (yet)."""


def volume_dir(pod_dir: str, name: str) -> str:
    return os.path.join(pod_dir, "volumes", name)


async def setup(objs: objects.Objects, pod: Obj, pod_dir: str) -> Paths:
    """Create or refresh every volume of the pod; return name -> host path."""
    out = Paths()
    for vol in (pod.get("spec") or {}).get("volumes") or []:
        name = vol["name"]
        try:
            out[name] = await _setup_one(objs, pod, vol, volume_dir(pod_dir, name))
        except _Unprocessed as e:
            raise objects.Missing(
                f"Unable to attach or mount volumes: unmounted volumes=[{name}], unattached "
                f"volumes=[], failed to process volumes=[{name}]: {e}") from e
        except (objects.Missing, ValueError, OSError, subprocess.CalledProcessError) as e:
            raise objects.Missing(f'MountVolume.SetUp failed for volume "{name}" : {e}') from e
        if (vol.get("persistentVolumeClaim") or {}).get("readOnly"):
            out.readonly.add(name)
    return out


async def _setup_one(objs: objects.Objects, pod: Obj, vol: Obj, path: str) -> str:
    if "emptyDir" in vol:
        return _empty_dir(vol["emptyDir"] or {}, path)
    if "hostPath" in vol:
        return _host_path(vol["hostPath"])
    if "persistentVolumeClaim" in vol:
        return await _claim(objs, pod, (vol["persistentVolumeClaim"] or {}).get("claimName")
                            or "", path)
    if "ephemeral" in vol:
        return await _claim(objs, pod, claims.ephemeral_claim_name(pod, vol), path, owned=True)
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


def _host_path(src: Obj, dir_mode: int = 0o755) -> str:
    path, kind = src["path"], src.get("type") or ""
    if kind == "DirectoryOrCreate" and not os.path.isdir(path):
        os.makedirs(path, mode=dir_mode, exist_ok=True)
        os.chmod(path, dir_mode)   # not narrowed by the umask
    elif kind == "FileOrCreate" and not os.path.exists(path):
        os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
        open(path, "a").close()
    checks = {"Directory": os.path.isdir, "File": os.path.isfile, "Socket": os.path.exists,
              "CharDevice": os.path.exists, "BlockDevice": os.path.exists}
    if kind in checks and not checks[kind](path):
        raise objects.Missing(f"hostPath type check failed: {path} is not a {kind}")
    return path


async def _claim(objs: objects.Objects, pod: Obj, name: str, link: str, *,
                 owned: bool = False) -> str:
    """The host directory of the volume bound to the claim, remembered as a symlink at
    `link` once resolved; `owned`: the claim must be the pod's own (an ephemeral volume)."""
    if os.path.islink(link):
        return os.readlink(link)
    ns = pod["metadata"]["namespace"]
    try:
        pv = await _bound_volume(objs, ns, name, pod if owned else None)
    except objects.Missing as e:
        raise _Unprocessed(f"error processing PVC {ns}/{name}: {e}") from e
    path = _volume_path(pv)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(path, link)
    return path


async def _bound_volume(objs: objects.Objects, namespace: str, name: str,
                        owner: Obj | None = None) -> Obj:
    """The PersistentVolume bound to the claim; objects.Missing saying why not."""
    claim = await objs.claim(namespace, name)
    if claim is None:
        raise objects.Missing(f'failed to fetch PVC from API server: persistentvolumeclaims '
                              f'"{name}" not found')
    if owner is not None and not claims.made_for(claim, owner):
        raise objects.Missing(f"PVC {namespace}/{name} was not created for pod {namespace}/"
                              f"{owner['metadata']['name']} (pod is not owner)")
    if claim["metadata"].get("deletionTimestamp"):
        raise objects.Missing("PVC is being deleted")
    if (claim.get("status") or {}).get("phase") != "Bound":
        raise objects.Missing("PVC is not bound")
    pv_name = (claim.get("spec") or {}).get("volumeName") or ""
    if not pv_name:
        raise objects.Missing("PVC has empty pvc.Spec.VolumeName")
    pv = await objs.volume(pv_name)
    if pv is None:
        raise objects.Missing(f'failed to fetch PV {pv_name} from API server: '
                              f'persistentvolumes "{pv_name}" not found')
    ref = (pv.get("spec") or {}).get("claimRef")
    if not ref:
        raise objects.Missing(f"found PV object {pv_name} but it has a nil pv.Spec.ClaimRef "
                              "indicating it is not yet bound to the claim")
    if ref.get("uid") != claim["metadata"].get("uid"):
        raise objects.Missing(f"found PV object {pv_name} but its pv.Spec.ClaimRef.UID "
                              f"{ref.get('uid')} does not point to claim.UID "
                              f"{claim['metadata'].get('uid')}")
    return pv


def _volume_path(pv: Obj) -> str:
    """The host directory of a hostPath or local PersistentVolume."""
    spec, name = pv.get("spec") or {}, pv["metadata"]["name"]
    if spec.get("volumeMode") == "Block":
        raise objects.Missing(f"PersistentVolume {name} has volumeMode Block, but is "
                              "specified in volumeMounts")
    if "hostPath" in spec:
        # The local-path provisioner's directories are world-writable, as k3s's are.
        provisioned = (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY) == \
            LOCAL_PATH_PROVISIONER
        return _host_path(spec["hostPath"] or {}, 0o777 if provisioned else 0o755)
    if "local" in spec:
        path = (spec["local"] or {}).get("path") or ""
        if not os.path.isdir(path):
            raise objects.Missing(f"local volume path {path!r} of PersistentVolume {name} "
                                  "is not a directory")
        return str(path)
    sources = sorted(k for k in spec if k not in PV_NOT_SOURCE)
    raise objects.Missing(f"PersistentVolume {name} has unsupported volume source "
                          f"{', '.join(sources) or '(none)'}: this node mounts hostPath and "
                          "local volumes only")


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
    always_ro = paths.readonly if isinstance(paths, Paths) else set()
    for vm in container.get("volumeMounts") or []:
        host = paths[vm["name"]]
        if vm.get("subPath"):
            host = os.path.join(host, vm["subPath"])
            if not os.path.exists(host):
                os.makedirs(host, exist_ok=True)
        out.append(protocol.Mount(host_path=host, container_path=vm["mountPath"],
                                  readonly=bool(vm.get("readOnly")) or vm["name"] in always_ro,
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
