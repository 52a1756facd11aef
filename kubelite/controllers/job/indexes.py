"""Completion indexes of Indexed Jobs: which index a pod works on, and the compact
interval text ("0-2,5") that status.completedIndexes holds."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]
ANNOTATION = "batch.kubernetes.io/job-completion-index"


def of_pod(pod: Obj, completions: int) -> int | None:
    """The pod's completion index, or None when absent, malformed or out of range."""
    meta = pod["metadata"]
    raw = (meta.get("annotations") or {}).get(ANNOTATION)
    if raw is None:
        raw = (meta.get("labels") or {}).get(ANNOTATION)
    if raw is None or not raw.isdigit():
        return None
    index = int(raw)
    return index if index < completions else None


def parse(text: str | None, completions: int) -> set[int]:
    """The indexes listed in `text` that are below `completions` (bad pieces are skipped)."""
    out: set[int] = set()
    for piece in (text or "").split(","):
        first, _, last = piece.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            continue
        out.update(i for i in range(int(first), int(last or first) + 1) if i < completions)
    return out


def format_intervals(indexes: set[int]) -> str:
    """Sorted indexes as comma-separated runs: {0, 1, 2, 5} -> "0-2,5"."""
    runs: list[list[int]] = []
    for i in sorted(indexes):
        if runs and runs[-1][1] == i - 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
