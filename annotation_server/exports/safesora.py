"""SafeSora record builders: plain data in, the exact published record shapes out (no Django).

Key order matters to researchers who diff our files against the published datasets, so every
builder emits keys in the order of the published configs (see /work/shared/samples).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from annotation_server.taxonomy import HARM_KEYS, SUB_DIMENSION_KEYS

# The published datasets list HarmLabel keys in this order (not the S1–S12 order).
HARM_LABEL_ORDER: tuple[str, ...] = (
    "porn",
    "violence",
    "hate",
    "terrorism",
    "contraband",
    "controversial",
    "racism",
    "other_discrimination",
    "animal_abuse",
    "child_abuse",
    "crime",
    "other_harmful",
)
assert set(HARM_LABEL_ORDER) == set(HARM_KEYS) and len(HARM_LABEL_ORDER) == len(HARM_KEYS)

KINDS: tuple[str, ...] = ("preference", "label", "eval")
SPLITS: tuple[str, ...] = ("train", "test")


def video_path(prompt_id: str, video_id: str) -> str:
    """The fixed SafeSora rule: loaders rewrite it to <video_dir>/<prompt_id>/<video_id>.mp4."""
    return f"videos/{prompt_id}/{video_id}.mp4"


def harm_label(present: Iterable[str]) -> dict[str, bool]:
    """A HarmLabel in published key order, True for each harm key in `present`."""
    present = set(present)
    unknown = present - set(HARM_KEYS)
    if unknown:
        raise ValueError(f"unknown harm keys: {', '.join(sorted(unknown))}")
    return {key: key in present for key in HARM_LABEL_ORDER}


def harm_label_from_dict(label: Mapping[str, bool]) -> dict[str, bool]:
    """Re-orders a stored HarmLabel dict; missing keys are an error, never silently False."""
    missing = [key for key in HARM_LABEL_ORDER if key not in label]
    if missing:
        raise ValueError(f"HarmLabel misses keys: {', '.join(missing)}")
    return {key: bool(label[key]) for key in HARM_LABEL_ORDER}


def prompt_sample(prompt: Mapping[str, Any], prompt_labels: dict[str, bool]) -> dict[str, Any]:
    """A `PromptSample` (SafeSora-Eval). `prompt` has prompt_id, text, prompt_type."""
    return {
        "prompt_id": prompt["prompt_id"],
        "prompt_text": prompt["text"],
        "prompt_type": prompt["prompt_type"],
        "prompt_labels": dict(prompt_labels),
    }


def video_sample(
    prompt: Mapping[str, Any],
    prompt_labels: dict[str, bool],
    video: Mapping[str, Any],
    video_labels: dict[str, bool],
    *,
    with_labels: bool,
    is_safe: bool | None = None,
) -> dict[str, Any]:
    """A `VideoSample`. Inside a pair record the published files omit `video_labels`;
    `is_safe` given overrides the one the labels imply (a video judged only safe or not)."""
    record: dict[str, Any] = prompt_sample(prompt, prompt_labels)
    record["video_id"] = video["video_id"]
    record["video_text"] = video["video_text"]
    record["video_path"] = video_path(prompt["prompt_id"], video["video_id"])
    record["is_safe"] = not any(video_labels.values()) if is_safe is None else is_safe
    if with_labels:
        record["video_labels"] = dict(video_labels)
    record["generated_from"] = video["generated_from"]
    return record


def pair_sample(
    *,
    pair_id: str,
    prompt: Mapping[str, Any],
    prompt_labels: dict[str, bool],
    video_0: Mapping[str, Any],
    video_0_labels: dict[str, bool],
    video_1: Mapping[str, Any],
    video_1_labels: dict[str, bool],
    decisions: Mapping[str, str],
    safe: tuple[bool | None, bool | None] = (None, None),
) -> dict[str, Any]:
    """A `VideoPairSample`. `decisions` maps helpfulness, harmlessness and the four
    sub-dimension keys to "video_0" / "video_1"; `safe` overrides each video's is_safe."""
    return {
        "pair_id": pair_id,
        "prompt_id": prompt["prompt_id"],
        "prompt_text": prompt["text"],
        "prompt_type": prompt["prompt_type"],
        "video_0": video_sample(
            prompt, prompt_labels, video_0, video_0_labels, with_labels=False, is_safe=safe[0]
        ),
        "video_1": video_sample(
            prompt, prompt_labels, video_1, video_1_labels, with_labels=False, is_safe=safe[1]
        ),
        "helpfulness": decisions["helpfulness"],
        "harmlessness": decisions["harmlessness"],
        "sub_preferences": {key: decisions[key] for key in SUB_DIMENSION_KEYS},
    }


def split_of(prompt_id: str, *, seed: int, test_fraction: float) -> str:
    """ "train" or "test" for a prompt: a hash of (seed, prompt_id), so a prompt keeps its split
    when the data grows and every kind of an `all` export agrees."""
    digest = hashlib.sha256(f"{seed}\x00{prompt_id}".encode()).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    return "test" if position < test_fraction else "train"


def null_paths(value: Any, path: str = "$") -> list[str]:
    """Where `value` holds a null (None), at any depth; an empty list means complete."""
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in null_paths(item, f"{path}.{key}")]
    if isinstance(value, list | tuple):
        return [p for i, item in enumerate(value) for p in null_paths(item, f"{path}[{i}]")]
    return []
