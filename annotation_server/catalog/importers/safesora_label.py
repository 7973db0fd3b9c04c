"""Reading a SafeSora-Label dataset (`VideoDataset` configs) as a classification batch's
input (no Django): its prompts and videos, and each video's release label kept whole.

The prompts and videos are read by the SafeSora config reader every import uses; this adds
the record's `video_labels` and `is_safe`, which a classification batch keeps as the
release's own answer (an external annotation), never as one of our workers' answers.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annotation_server.taxonomy import HARM_KEYS

from .checks import merge_and_check
from .fields import FieldErrors
from .json_list import JsonListError, iter_json_list
from .loader import hash_videos, input_files
from .records import ImportIssue, ImportPlan, Report
from .safesora import read_config

SOURCE = "safesora-label"


@dataclass
class LabelRelease:
    """A checked plan (prompts, videos; no pairs) and the release's label of each video:
    video_id → (answer in our terms, details = the whole record with where it was read)."""

    plan: ImportPlan
    labels: dict[str, tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=dict)


def read_label_release(
    path: Path, *, progress: bool = False, report: Report | None = None
) -> LabelRelease:
    """Read every config `path` stands for; `release.plan.issues` lists every problem."""
    files, issues = input_files(path)
    plan = ImportPlan(issues=issues)
    labels: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for file in files:
        if file.name.lower().endswith(".jsonl"):
            plan.issues.append(
                ImportIssue(
                    file.name,
                    0,
                    "",
                    "a manifest holds no labels; a classification batch on the SafeSora "
                    "taxonomy is read from SafeSora-Label configs (VideoSample records)",
                )
            )
            continue
        part = read_config(file)
        if part.pairs is not None:
            part.issues.append(
                ImportIssue(
                    file.name,
                    0,
                    "",
                    "holds preference pairs (VideoPairSample); a classification batch is read "
                    "from SafeSora-Label configs (VideoSample records with video_labels)",
                )
            )
            part.pairs = None
        plan.extend(part)
        _read_labels(file, labels, plan.issues)
    plan.issues += hash_videos(plan.videos, progress=progress, report=report)
    return LabelRelease(merge_and_check(plan, need_two_videos=False), labels)


def _read_labels(file: Path, labels: dict, issues: list[ImportIssue]) -> None:
    """The label of each VideoSample of `file` (errors of the record itself are the config
    reader's; this only checks what a label needs)."""
    try:
        raw = file.read_bytes()
        text = (gzip.decompress(raw) if file.name.endswith(".gz") else raw).decode("utf-8-sig")
        records = list(iter_json_list(text))
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, JsonListError):
        return  # read_config reported it
    for line, record in records:
        if not isinstance(record, dict) or "video_0" in record or "video_1" in record:
            continue
        errors = FieldErrors()
        ok, video_labels = errors.harm_label(record, "video_labels")
        if ok and video_labels is None:
            errors.add("video_labels", "is required: a SafeSora-Label record carries its labels")
        is_safe = record.get("is_safe")
        if not isinstance(is_safe, bool):
            errors.add("is_safe", "is required and must be true or false")
        elif video_labels is not None and is_safe == any(video_labels.values()):
            errors.add(
                "is_safe",
                f"is {str(is_safe).lower()} but video_labels "
                f"{'name a harm' if is_safe else 'name none'}; the release must agree with itself",
            )
        for name, message in errors.items:
            issues.append(ImportIssue(file.name, line, name, message))
        video_id = record.get("video_id")
        if errors.items or not isinstance(video_id, str) or video_labels is None:
            continue
        answer = {
            "harmful": not is_safe,
            "categories": [key for key in HARM_KEYS if video_labels[key]],
        }
        details = {"record": record, "file": file.name, "line": line}
        if video_id in labels and labels[video_id][0] != answer:
            issues.append(
                ImportIssue(
                    file.name,
                    line,
                    "video_labels",
                    f"{video_id} is labelled differently at "
                    f"{labels[video_id][1]['file']}:{labels[video_id][1]['line']}",
                )
            )
            continue
        labels.setdefault(video_id, (answer, details))
