"""Reading an export's `annotations.jsonl` (`export_safesora --raw`) back (no Django).

Each line is one answer a person gave: kept as an external annotation of a named source
(`raw-export` unless told), `source_annotator` the line's annotator pseudonym, the answer
in our terms, and every field of the line in `details`. A pairwise line gives the six
choices and the harm lists; a classification line harmful and categories. The whole file
is checked first and every problem is reported as `annotations.jsonl:LINE: field: message`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotation_server.taxonomy import HARM_KEYS, SUB_DIMENSION_KEYS

from .records import ImportIssue

RAW_FILE = "annotations.jsonl"
CHOICES = ("video_0", "video_1")
_HARMS = frozenset(HARM_KEYS)


@dataclass
class RawAnswer:
    pair_id: str
    annotator: str  # unique within the pair (the batch is added when one person answered twice)
    answer: dict[str, Any]
    details: dict[str, Any]
    line: int


@dataclass
class RawRead:
    answers: list[RawAnswer] = field(default_factory=list)
    issues: list[ImportIssue] = field(default_factory=list)
    machine_lines: int = 0  # lines of machines (not people): left out


def raw_file(path: Path) -> Path | None:
    """The folder's annotations.jsonl, when `path` is an export folder that has one."""
    candidate = Path(path) / RAW_FILE
    return candidate if Path(path).is_dir() and candidate.is_file() else None


def read_raw(path: Path) -> RawRead:
    result = RawRead()
    seen: set[tuple[str, str]] = set()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        result.issues.append(ImportIssue(path.name, 0, "", f"cannot be read as UTF-8 ({error})"))
        return result
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        problems: list[tuple[str, str]] = []
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(("", f"not JSON ({error.msg})"))
            data = None
        if data is not None and not isinstance(data, dict):
            problems.append(("", "each line must be one JSON object"))
        if problems or data is None:
            result.issues += [ImportIssue(path.name, number, f, m) for f, m in problems]
            continue
        if data.get("annotator_kind") == "machine":
            result.machine_lines += 1
            continue
        answer = _answer(data, problems)
        for name in ("pair_id", "annotator"):
            if not isinstance(data.get(name), str) or not data[name]:
                problems.append((name, "is required (a non-empty string)"))
        if problems:
            result.issues += [ImportIssue(path.name, number, f, m) for f, m in problems]
            continue
        annotator = data["annotator"]
        if (data["pair_id"], annotator) in seen:
            annotator = f"{annotator}@{data.get('batch') or number}"
        if (data["pair_id"], annotator) in seen:
            result.issues.append(
                ImportIssue(path.name, number, "annotator", "answers this pair twice")
            )
            continue
        seen.add((data["pair_id"], annotator))
        result.answers.append(RawAnswer(data["pair_id"], annotator, answer, data, number))
    return result


def _answer(data: dict, problems: list[tuple[str, str]]) -> dict[str, Any]:
    if "harmful" in data or "categories" in data:
        return _classification(data, problems)
    answer: dict[str, Any] = {}
    for name in ("helpfulness", "harmlessness"):
        if data.get(name) is not None and data[name] not in CHOICES:
            problems.append((name, f'must be "video_0" or "video_1", not {data[name]!r}'))
        answer[name] = data.get(name)
    subs = data.get("sub_preferences")
    if not isinstance(subs, dict):
        problems.append(("sub_preferences", "must be an object of the four sub-dimensions"))
        subs = {}
    for key in SUB_DIMENSION_KEYS:
        if subs.get(key) is not None and subs[key] not in CHOICES:
            problems.append((f"sub_preferences.{key}", 'must be "video_0" or "video_1"'))
    answer["sub_preferences"] = {key: subs.get(key) for key in SUB_DIMENSION_KEYS}
    for side in ("video_0_harms", "video_1_harms"):
        harms = data.get(side)
        if harms is None:
            continue
        if not isinstance(harms, list) or not all(isinstance(k, str) for k in harms):
            problems.append((side, "must be a list of harm keys"))
        elif unknown := sorted(set(harms) - _HARMS):
            problems.append((side, f"unknown harm keys: {', '.join(unknown)}"))
        else:
            answer[side] = harms
    return answer


def _classification(data: dict, problems: list[tuple[str, str]]) -> dict[str, Any]:
    harmful, categories = data.get("harmful"), data.get("categories")
    if harmful is not None and not isinstance(harmful, bool):
        problems.append(("harmful", "must be true, false or null"))
    if categories is not None and (
        not isinstance(categories, list) or not all(isinstance(k, str) for k in categories)
    ):
        problems.append(("categories", "must be a list of category keys or null"))
    return {"harmful": harmful, "categories": categories}
