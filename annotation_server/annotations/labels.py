"""Pure handling of classification answers: what a batch's question requires, the stored
fields, and gold scoring (no Django; the pairwise counterpart is answers.py).

A worker answers one item: `harmful` (yes/no), `categories` (keys of the batch's taxonomy
version), an optional one-line `reason` and an optional `confidence` 1–5, each only where the
batch asks it. A gold answer, written by an admin, has any subset of
{"harmful": true, "categories": ["violence"]}; categories compare as a set.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# The fields that make two submissions "the same answer" (timings may differ on a retry).
LABEL_FIELDS = ("harmful", "categories", "reason", "confidence")
GOLD_KEYS = ("harmful", "categories")
REASON_MAX = 500


def label_fields(answers: dict[str, Any], *, question, keys: Sequence[str]) -> dict[str, Any]:
    """Annotation field values for a classification answer; raises LabelProblems listing
    every field the worker must fix. `question` has the batch's ask_* flags, `keys` are the
    taxonomy version's category keys in order."""
    problems: dict[str, list[str]] = {}
    harmful = answers.get("harmful")
    categories = answers.get("categories")
    if question.ask_harmful and harmful is None:
        problems["harmful"] = ["Required: true if the item is harmful, false if not."]
    if question.ask_categories and categories is None:
        problems["categories"] = ["Required: the categories the item shows ([] for none)."]
    if question.ask_categories and categories:
        unknown = sorted(set(categories) - set(keys))
        if unknown:
            problems["categories"] = [
                f"Not in this batch's taxonomy: {', '.join(unknown)} (known: {', '.join(keys)})."
            ]
        elif harmful is False:
            problems["categories"] = [
                "An item answered as not harmful cannot show harm categories; "
                "answer harmful: true or send categories: []."
            ]
    if problems:
        raise LabelProblems(problems)
    present = set(categories or []) if question.ask_categories else set()
    reason = (answers.get("reason") or "").strip() if question.ask_reason else ""
    return {
        "harmful": harmful if question.ask_harmful else None,
        "categories": [key for key in keys if key in present],
        "reason": " ".join(reason.split())[:REASON_MAX],
        "confidence": answers.get("confidence") if question.ask_confidence else None,
    }


class LabelProblems(ValueError):
    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def label_gold_problems(answer: object, *, keys: Sequence[str]) -> list[str]:
    """Problems with a classification gold answer (empty list when usable)."""
    if not isinstance(answer, dict):
        return ["must be a JSON object"]
    problems = []
    unknown = sorted(set(answer) - set(GOLD_KEYS))
    if unknown:
        problems.append(f"unknown keys: {', '.join(unknown)} (allowed: {', '.join(GOLD_KEYS)})")
    if "harmful" in answer and not isinstance(answer["harmful"], bool):
        problems.append("harmful must be true or false")
    if "categories" in answer:
        value = answer["categories"]
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value):
            problems.append("categories must be a list of category keys")
        elif set(value) - set(keys):
            problems.append(
                f"categories has unknown keys: {', '.join(sorted(set(value) - set(keys)))}"
            )
    if not problems and not any(key in answer for key in GOLD_KEYS):
        problems.append("a gold answer needs harmful or categories")
    return problems


def label_gold_score(fields: dict[str, Any], answer: dict[str, Any]) -> float | None:
    """Share of the gold answer's fields (harmful, categories as a set) the answer matched."""
    checks = []
    if "harmful" in answer:
        checks.append(fields.get("harmful") == answer["harmful"])
    if "categories" in answer:
        checks.append(set(fields.get("categories") or []) == set(answer["categories"]))
    return sum(checks) / len(checks) if checks else None
