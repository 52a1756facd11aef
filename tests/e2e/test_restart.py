"""Objects outlive the server: a clean restart and a kill -9 keep every acknowledged write."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e


def test_restart_and_kill_keep_objects(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data, home = str(tmp_path / "data"), str(tmp_path / "home")
    c = cluster_mod.start(data, home, "--disable", "agent,controllers")
    try:
        c.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\n"
                                            "metadata: {name: durable, namespace: default}\n"
                                            "data: {k: v}\n")
        uid = c.kubectl_json("get", "cm", "durable")["metadata"]["uid"]
    finally:
        c.stop()
    c = cluster_mod.start(data, home, "--disable", "agent,controllers", port=c.port)
    try:
        got = c.kubectl_json("get", "cm", "durable")
        assert got["metadata"]["uid"] == uid and got["data"] == {"k": "v"}
        c.kubectl("apply", "-f", "-", input="apiVersion: v1\nkind: ConfigMap\n"
                                            "metadata: {name: after-restart, namespace: default}\n")
        c.proc.kill()                       # kill -9: no shutdown path runs
        c.proc.wait()
    finally:
        c.stop()
    c = cluster_mod.start(data, home, "--disable", "agent,controllers", port=c.port)
    try:
        names = c.kubectl("get", "cm", "-n", "default", "-o", "name").stdout.split()
        assert "configmap/durable" in names and "configmap/after-restart" in names
    finally:
        c.stop()


def test_kubelite_kubectl_uses_the_cluster_kubeconfig(cluster: cluster_mod.Cluster) -> None:
    env = dict(cluster.env())
    env.pop("KUBECONFIG")
    res = subprocess.run([os.path.join(os.path.dirname(sys.executable), "kubelite"),
                          "kubectl", "--data-dir", cluster.data_dir, "get", "ns", "default",
                          "-o", "name"], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "namespace/default"
