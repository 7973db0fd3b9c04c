"""The human answer a SafeSora `VideoPairSample` carries, in the platform's own terms.

A preference release (or an export of ours) is a list of comparisons: each record names its
pair and the videos, and the judgement one person made of them. Importing such a config
keeps the pairs and, beside them, each record's judgement as an external annotation of a
named source (`safesora-release` unless told), never as one of our workers' answers. The
answer is in our terms (`video_0` / `video_1`, harm keys per video); `details` keeps the
whole record as it was, so nothing of the release is lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from annotation_server import taxonomy

CHOICES = ("video_0", "video_1")
ANSWER_FIELDS = ("helpfulness", "harmlessness", "sub_preferences")


@dataclass
class AnswerRecord:
    pair_id: str
    answer: dict[str, Any]
    details: dict[str, Any]
    file: str
    line: int


@dataclass
class AnswerProblems:
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.items.append((where, message))


def has_answer(record: dict) -> bool:
    """Whether the record carries a judgement at all (a pair list without one is just pairs)."""
    return any(record.get(name) is not None for name in ANSWER_FIELDS)


def preference_answer(record: dict) -> tuple[dict | None, list[tuple[str, str]]]:
    """The record's judgement as an answer in our terms, or None with (field, problem)s."""
    problems = AnswerProblems()
    answer: dict[str, Any] = {}
    for name in ("helpfulness", "harmlessness"):
        value = record.get(name)
        if value is None:
            continue
        if value not in CHOICES:
            problems.add(name, f'must be "video_0" or "video_1", not {value!r}')
        else:
            answer[name] = value
    subs = record.get("sub_preferences")
    if subs is not None:
        if not isinstance(subs, dict):
            problems.add("sub_preferences", "must be an object of the four sub-dimensions")
        else:
            unknown = sorted(set(subs) - set(taxonomy.SUB_DIMENSION_KEYS))
            if unknown:
                problems.add("sub_preferences", f"unknown keys: {', '.join(unknown)}")
            for key in taxonomy.SUB_DIMENSION_KEYS:
                if subs.get(key) is not None and subs[key] not in CHOICES:
                    problems.add(f"sub_preferences.{key}", 'must be "video_0" or "video_1"')
            answer["sub_preferences"] = {k: subs.get(k) for k in taxonomy.SUB_DIMENSION_KEYS}
    for side in CHOICES:
        sample = record.get(side)
        if isinstance(sample, dict) and isinstance(sample.get("is_safe"), bool):
            answer[f"{side}_is_safe"] = sample["is_safe"]
        labels = (
            record.get(side, {}).get("video_labels") if isinstance(record.get(side), dict) else None
        )
        if labels is None:
            continue
        wrong = taxonomy.validate_harm_label(labels)
        if wrong:
            problems.add(f"{side}.video_labels", "; ".join(wrong))
        else:
            answer[f"{side}_harms"] = taxonomy.harm_keys_present(labels)
    if problems.items:
        return None, problems.items
    return answer, []
