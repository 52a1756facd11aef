"""Score normalization shared by plugins (helper.DefaultNormalizeScore upstream)."""

from __future__ import annotations

from collections.abc import Callable

from kubelite.scheduler import nodeinfo, podinfo, protocol

# node name -> (node generation, pod requests key, score)
Memo = dict[str, tuple[int, object, int]]


def memoized_scores(memo: Memo, pod: podinfo.PodInfo, nodes: list[nodeinfo.NodeInfo],
                    compute: Callable[[nodeinfo.NodeInfo], int]) -> list[int]:
    """Every node's score in one loop, reusing a node's last score while its generation and
    the pod's requests are the same: between cycles of a ReplicaSet's identical pods most
    nodes are unchanged."""
    key, out = pod.requests_key, []
    for node in nodes:
        entry = memo.get(node.name)
        if entry is not None and entry[0] == node.generation and entry[1] == key:
            out.append(entry[2])
            continue
        value = compute(node)
        memo[node.name] = (node.generation, key, value)
        out.append(value)
    return out


def default_normalize(scores: list[int], reverse: bool = False) -> None:
    """Scale to 0..MAX_NODE_SCORE by the highest score; reverse makes low raw scores win."""
    highest = max(scores, default=0)
    top = protocol.MAX_NODE_SCORE
    if highest == 0:
        if reverse:
            scores[:] = [top] * len(scores)
        return
    for i, raw in enumerate(scores):
        value = top * raw // highest
        scores[i] = top - value if reverse else value
