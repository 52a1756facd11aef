"""Build small real images from the host's static busybox, and serve them from a real registry."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import time
import urllib.request
from dataclasses import dataclass, field

BUSYBOX = shutil.which("busybox") or "/bin/busybox"
APPLETS = ("sh", "sleep", "cat", "echo", "wget", "httpd", "head", "tail", "ls", "env", "pwd",
           "id", "touch", "mkdir", "rm", "true", "false", "hostname", "printf", "kill", "trap", "test",
           "stat", "ip", "yes", "grep", "tar", "wc", "md5sum")
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(entries: list[tuple[str, str, bytes | str]]) -> bytes:
    """A tar from (kind, name, payload) with kind in file|dir|symlink|exe."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for kind, name, payload in entries:
            info = tarfile.TarInfo(name)
            info.mtime = 1700000000
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, str(payload)
                tar.addfile(info)
            else:
                data = payload if isinstance(payload, bytes) else payload.encode()
                info.size, info.mode = len(data), 0o755 if kind == "exe" else 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def busybox_layer() -> bytes:
    with open(BUSYBOX, "rb") as f:
        binary = f.read()
    entries: list[tuple[str, str, bytes | str]] = [
        ("dir", "bin", b""), ("exe", "bin/busybox", binary), ("dir", "etc", b""),
        ("dir", "tmp", b""), ("dir", "root", b""), ("dir", "www", b""),
        ("file", "etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n"),
        ("file", "etc/group", "root:x:0:\nnobody:x:65534:\n"),
        ("file", "www/index.html", "hello from kubelite\n"),
    ]
    entries += [("symlink", f"bin/{a}", "busybox") for a in APPLETS]
    return tar_bytes(entries)


@dataclass
class Image:
    """An image as blobs: layers (uncompressed tars), config and manifest, ready to push or save."""

    layers: list[bytes]
    env: list[str] = field(default_factory=lambda: ["PATH=/bin", "FROM_IMAGE=yes"])
    cmd: list[str] = field(default_factory=lambda: ["sh"])
    workdir: str = ""

    def gz_layers(self) -> list[bytes]:
        return [gzip.compress(layer, mtime=0) for layer in self.layers]

    def config(self) -> bytes:
        cfg = {"architecture": "amd64", "os": "linux",
               "config": {"Env": self.env, "Cmd": self.cmd, "WorkingDir": self.workdir},
               "rootfs": {"type": "layers", "diff_ids": [sha(layer) for layer in self.layers]}}
        return json.dumps(cfg).encode()

    def manifest(self) -> bytes:
        cfg = self.config()
        doc = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
               "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                          "digest": sha(cfg), "size": len(cfg)},
               "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": sha(gz), "size": len(gz)} for gz in self.gz_layers()]}
        return json.dumps(doc).encode()

    def index(self, other: Image, other_arch: str = "s390x") -> bytes:
        """An image index: this manifest for linux/amd64 and `other` for linux/<other_arch>."""
        mine, theirs = self.manifest(), other.manifest()
        doc = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": sha(theirs), "size": len(theirs),
             "platform": {"os": "linux", "architecture": other_arch}},
            {"mediaType": OCI_MANIFEST, "digest": sha(mine), "size": len(mine),
             "platform": {"os": "linux", "architecture": "amd64"}}]}
        return json.dumps(doc).encode()

    def docker_save(self, path: str, tag: str) -> None:
        cfg = self.config()
        names = [f"{sha(layer)[7:]}/layer.tar" for layer in self.layers]
        manifest = [{"Config": f"{sha(cfg)[7:]}.json", "RepoTags": [tag], "Layers": names}]
        files = [("file", "manifest.json", json.dumps(manifest)), ("file", f"{sha(cfg)[7:]}.json", cfg)]
        files += [("file", n, layer) for n, layer in zip(names, self.layers)]
        _write(path, tar_bytes(files))  # type: ignore[arg-type]

    def oci_layout(self, path: str, name: str) -> None:
        m, cfg = self.manifest(), self.config()
        index = {"schemaVersion": 2, "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": sha(m), "size": len(m),
             "annotations": {"io.containerd.image.name": name}}]}
        files: list[tuple[str, str, bytes | str]] = [
            ("file", "oci-layout", '{"imageLayoutVersion":"1.0.0"}'),
            ("file", "index.json", json.dumps(index)),
            ("file", f"blobs/sha256/{sha(m)[7:]}", m), ("file", f"blobs/sha256/{sha(cfg)[7:]}", cfg)]
        files += [("file", f"blobs/sha256/{sha(gz)[7:]}", gz) for gz in self.gz_layers()]
        _write(path, tar_bytes(files))


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    """A real docker-registry on 127.0.0.1, no auth, storage in a temp dir."""

    def __init__(self, workdir: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(workdir, "registry.yml")
        with open(cfg, "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {workdir}/data\n  delete:\n    enabled: true\n"
                    f"http:\n  addr: 127.0.0.1:{self.port}\n")
        self.proc = subprocess.Popen(["docker-registry", "serve", cfg],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/v2/", timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError("docker-registry exited") from None
                time.sleep(0.05)  # polling a readiness endpoint with a deadline
        raise RuntimeError("docker-registry did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)

    def push_blob(self, repo: str, data: bytes) -> None:
        req = urllib.request.Request(f"{self.url}/v2/{repo}/blobs/uploads/", method="POST")
        with urllib.request.urlopen(req) as resp:
            location = resp.headers["Location"]
        if location.startswith("/"):
            location = self.url + location
        sep = "&" if "?" in location else "?"
        put = urllib.request.Request(f"{location}{sep}digest={sha(data)}", data=data, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        urllib.request.urlopen(put).close()

    def push_manifest(self, repo: str, tag: str, data: bytes, media_type: str) -> None:
        req = urllib.request.Request(f"{self.url}/v2/{repo}/manifests/{tag}", data=data, method="PUT",
                                     headers={"Content-Type": media_type})
        urllib.request.urlopen(req).close()

    def push(self, repo: str, tag: str, image: Image) -> None:
        for blob in [*image.gz_layers(), image.config()]:
            self.push_blob(repo, blob)
        self.push_manifest(repo, tag, image.manifest(), OCI_MANIFEST)

    def push_index(self, repo: str, tag: str, image: Image, other: Image) -> None:
        """Push both images by digest and an index naming them under `tag`."""
        for img in (image, other):
            self.push(repo, sha(img.manifest()), img)
        self.push_manifest(repo, tag, image.index(other), OCI_INDEX)
