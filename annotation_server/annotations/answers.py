"""Pure answer handling: left/right ↔ video_0/video_1 mapping and gold scoring (no Django).

A worker answers in display terms ("left"/"right"); the server stores SafeSora terms
("video_0"/"video_1") using the assignment's `left_is_video_0`. Gold answers are written by
admins in SafeSora terms, with any subset of these keys:

    {"helpfulness": "video_0", "harmlessness": "video_1",
     "sub_preferences": {"instruction_following": "video_0", "correctness": "video_1", ...},
     "video_0_harms": ["violence"], "video_1_harms": [], "prompt_harms": ["crime"]}

Each scalar choice, each sub-preference and each harm list (compared as a set) is one field;
the gold score is the share of present fields the worker matched.
"""

from __future__ import annotations

from typing import Any

from annotation_server.taxonomy import HARM_KEYS, SUB_DIMENSION_KEYS

SIDES = ("left", "right")
CHOICES = ("video_0", "video_1")
GOLD_KEYS = (
    "helpfulness",
    "harmlessness",
    "sub_preferences",
    "video_0_harms",
    "video_1_harms",
    "prompt_harms",
)


# The keys of a pairwise answer; a classification answer has none of them.
PAIRWISE_KEYS = ("sub_preferences", "harm_labels", "helpfulness", "harmlessness")


def is_pairwise_answer(answers: dict[str, Any]) -> bool:
    return all(answers.get(key) is not None for key in PAIRWISE_KEYS)


def side_to_video(side: str, *, left_is_video_0: bool) -> str:
    """'left'/'right' → 'video_0'/'video_1' for an assignment's display order."""
    if side not in SIDES:
        raise ValueError(f"side must be 'left' or 'right', not {side!r}")
    is_left = side == "left"
    return "video_0" if is_left == left_is_video_0 else "video_1"


def ordered_harms(keys: list[str]) -> list[str]:
    """Harm keys deduplicated, in taxonomy (S1–S12) order."""
    present = set(keys)
    return [key for key in HARM_KEYS if key in present]


def answers_to_fields(answers: dict[str, Any], *, left_is_video_0: bool) -> dict[str, Any]:
    """Validated left/right answers → Annotation field values in video_0/video_1 terms."""

    def video(side: str) -> str:
        return side_to_video(side, left_is_video_0=left_is_video_0)

    harms = answers["harm_labels"]
    left_harms, right_harms = ordered_harms(harms["left"]), ordered_harms(harms["right"])
    fields: dict[str, Any] = {
        f"pref_{dim}": video(answers["sub_preferences"][dim]) for dim in SUB_DIMENSION_KEYS
    }
    fields["helpfulness"] = video(answers["helpfulness"])
    fields["harmlessness"] = video(answers["harmlessness"])
    fields["video_0_harms"] = left_harms if left_is_video_0 else right_harms
    fields["video_1_harms"] = right_harms if left_is_video_0 else left_harms
    prompt_harms = answers.get("prompt_harm_labels")
    fields["prompt_harms"] = None if prompt_harms is None else ordered_harms(prompt_harms)
    return fields


# The fields that make two submissions "the same answer" (timings may differ on a retry).
ANSWER_FIELDS = (
    *(f"pref_{dim}" for dim in SUB_DIMENSION_KEYS),
    "helpfulness",
    "harmlessness",
    "video_0_harms",
    "video_1_harms",
    "prompt_harms",
)


def validate_gold_answer(answer: object) -> list[str]:
    """Problems with a gold answer (empty list when it is usable)."""
    if not isinstance(answer, dict):
        return ["must be a JSON object"]
    problems = []
    unknown = sorted(set(answer) - set(GOLD_KEYS))
    if unknown:
        problems.append(f"unknown keys: {', '.join(unknown)} (allowed: {', '.join(GOLD_KEYS)})")
    for key in ("helpfulness", "harmlessness"):
        if key in answer and answer[key] not in CHOICES:
            problems.append(f"{key} must be 'video_0' or 'video_1'")
    subs = answer.get("sub_preferences", {})
    if not isinstance(subs, dict):
        problems.append("sub_preferences must be an object")
    else:
        for dim, value in subs.items():
            if dim not in SUB_DIMENSION_KEYS:
                problems.append(f"unknown sub-preference {dim!r}")
            elif value not in CHOICES:
                problems.append(f"sub_preferences.{dim} must be 'video_0' or 'video_1'")
    for key in ("video_0_harms", "video_1_harms", "prompt_harms"):
        if key in answer:
            value = answer[key]
            if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
                problems.append(f"{key} must be a list of harm keys")
            elif set(value) - set(HARM_KEYS):
                bad = ", ".join(sorted(set(value) - set(HARM_KEYS)))
                problems.append(f"{key} has unknown harm keys: {bad}")
    if not problems and gold_field_count(answer) == 0:
        problems.append("a gold answer needs at least one expected field")
    return problems


def gold_field_count(answer: dict[str, Any]) -> int:
    subs = answer.get("sub_preferences") or {}
    return sum(1 for key in GOLD_KEYS if key in answer and key != "sub_preferences") + len(subs)


def gold_score(fields: dict[str, Any], answer: dict[str, Any]) -> float | None:
    """Share of the gold answer's fields that the stored annotation fields match (0–1)."""
    total = gold_field_count(answer)
    if total == 0:
        return None
    right = 0
    for key in ("helpfulness", "harmlessness"):
        if key in answer:
            right += fields.get(key) == answer[key]
    for dim, value in (answer.get("sub_preferences") or {}).items():
        right += fields.get(f"pref_{dim}") == value
    for key in ("video_0_harms", "video_1_harms", "prompt_harms"):
        if key in answer:
            right += set(fields.get(key) or []) == set(answer[key])
    return right / total
