"""A node whose agent runs crun (`--oci-runtime crun`) says so where a user looks:
nodeInfo.containerRuntimeVersion and each container's containerID carry `crun://`, and the
ID names a container crun itself reports running."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from kubelite.agent.runtime import ocibinary
from tests.e2e import agentenv
from tests.e2e import cluster as cluster_mod

pytestmark = pytest.mark.e2e

NS = "crun-node"


@pytest.fixture(scope="module")
def crun_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster_mod.Cluster]:
    if ocibinary.crun() is None:
        pytest.skip("crun is not installed or cannot run containers on this host")
    yield from agentenv.running_cluster(tmp_path_factory, NS, "--oci-runtime", "crun")


def test_container_ids_name_crun(crun_cluster: cluster_mod.Cluster) -> None:
    c = crun_cluster
    c.kubectl("apply", "-f", "-", input=agentenv.pod_yaml("one", NS, "exec sleep 3600"))
    c.kubectl("wait", "-n", NS, "pod/one", "--for=condition=Ready", "--timeout=60s",
              timeout=70)
    node = c.kubectl_json("get", "nodes")["items"][0]
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("crun://")
    cid = c.kubectl_json("get", "pod", "one", "-n", NS)["status"]["containerStatuses"][0][
        "containerID"]
    scheme, _, bare = cid.partition("://")
    assert scheme == "crun" and bare
    agent_dir = os.path.join(c.data_dir, "agent")
    state = json.loads(subprocess.run(["crun", "--root", os.path.join(agent_dir, "crun"),
                                       "state", bare], capture_output=True, check=True,
                                      timeout=30).stdout)
    assert state["status"] == "running"
