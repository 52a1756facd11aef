"""Score normalization shared by plugins (helper.DefaultNormalizeScore upstream)."""

from __future__ import annotations

from kubelite.scheduler import protocol


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
