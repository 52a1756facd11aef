"""The pod-template-hash: a short, stable name for one pod template.

Upstream hashes the template with 32-bit FNV-1a (plus the deployment's collisionCount, so
a collision can be escaped by bumping the count) and spells the number with a consonant
and digit alphabet that can never form words. We hash a canonical JSON form of the
template instead of Go's struct dump, so the value differs from upstream's but keeps its
shape and stability: the same template (ignoring the hash label itself and Go zero-value
noise such as `creationTimestamp: null`) always gives the same string.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson

LABEL = "pod-template-hash"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193

Obj = dict[str, Any]


def fnv32a(data: bytes) -> int:
    h = _FNV_OFFSET
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """Map each character onto an alphabet without vowels (no accidental words)."""
    return "".join(_ALPHABET[ord(c) % len(_ALPHABET)] for c in text)


def _prune(value: Any) -> Any:
    """Drop nulls and empty maps/lists: Go decodes them to the same zero value."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def canonical(template: Obj | None) -> Obj:
    """The template without the hash label and zero-value noise, for hashing and comparing."""
    t = copy.deepcopy(template or {})
    labels = (t.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(LABEL, None)
    return _prune(t)  # type: ignore[no-any-return]


def compute(template: Obj | None, collision_count: int | None = None) -> str:
    """The pod-template-hash of a template (stable for an unchanged template)."""
    data = orjson.dumps(canonical(template), option=orjson.OPT_SORT_KEYS)
    if collision_count is not None:
        data += int(collision_count & 0xFFFFFFFF).to_bytes(4, "little")
    return safe_encode(str(fnv32a(data)))


def equal_ignore_hash(a: Obj | None, b: Obj | None) -> bool:
    """Two templates are the same rollout target when equal apart from the hash label."""
    return canonical(a) == canonical(b)
