"""In-process scheduler throughput: 5000 nodes (4 CPU, 32Gi, 110 pods), 10000 pods
(100m / 500Mi) through the default profile's scheduling cycle, no API.

Prints pods/s for the scheduling cycle (filter, score, select, assume); binding is
the wiring's job and not measured here.
"""

from __future__ import annotations

import argparse
import random
import time
from typing import Any

from kubelite.scheduler import fiterror, handle, nodeinfo, profile


def make_node(i: int) -> dict[str, Any]:
    name = f"node-{i}"
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                              "topology.kubernetes.io/zone": f"zone-{i % 3}"}},
        "spec": {},
        "status": {"allocatable": {"cpu": "4", "memory": "32Gi", "pods": "110"}},
    }


def make_pod(i: int) -> dict[str, Any]:
    return {
        "metadata": {"name": f"pod-{i}", "namespace": "default", "uid": f"uid-{i}", "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "pause",
                                 "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]},
    }


def run(nodes: int, pods: int) -> float:
    cache = nodeinfo.Cache()
    for i in range(nodes):
        cache.add_node(make_node(i))
    fw = profile.new_framework(handle.Handle(cache=cache), rng=random.Random(1))
    batch = [make_pod(i) for i in range(pods)]
    start = time.perf_counter()
    for pod in batch:
        result = fw.schedule_one(pod)
        if isinstance(result, fiterror.FitError):
            raise SystemExit(f"unexpected: {result.message()}")
    elapsed = time.perf_counter() - start
    return pods / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nodes", type=int, default=5000)
    parser.add_argument("--pods", type=int, default=10000)
    args = parser.parse_args()
    rate = run(args.nodes, args.pods)
    print(f"scheduler_core nodes={args.nodes} pods={args.pods} throughput={rate:.0f} pods/s "
          f"(target > 1000; ratio {rate / 1000:.2f}x)")


if __name__ == "__main__":
    main()
