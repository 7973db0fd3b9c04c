"""Pair-generation strategies: plain ids in, (pair_id, video_0, video_1) out. No Django."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations


def pair_id_for(video_0: str, video_1: str) -> str:
    """The SafeSora convention: `<video_0 id>-<video_1 id>`."""
    return f"{video_0}-{video_1}"


def all_pairs(video_ids: Sequence[str]) -> list[tuple[str, str, str]]:
    """Every unordered pair of distinct videos once, in the order the videos were given.

    For n videos that is n·(n−1)/2 pairs; video_0 is the one listed first.
    """
    unique = list(dict.fromkeys(video_ids))
    return [(pair_id_for(a, b), a, b) for a, b in combinations(unique, 2)]


def all_pairs_by_prompt(
    videos: Iterable[tuple[str, str]],
) -> list[tuple[str, str, str, str]]:
    """(prompt_id, pair_id, video_0, video_1) for `(prompt_id, video_id)` items, per prompt."""
    grouped: dict[str, list[str]] = {}
    for prompt_id, video_id in videos:
        grouped.setdefault(prompt_id, []).append(video_id)
    return [
        (prompt_id, pair_id, v0, v1)
        for prompt_id, ids in grouped.items()
        for pair_id, v0, v1 in all_pairs(ids)
    ]
