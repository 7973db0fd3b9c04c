"""Reading a JSONL manifest: one prompt per line, its videos' paths relative to the manifest.

{"prompt_id": "p1", "prompt_text": "…", "prompt_type": "safety_neutral",
 "prompt_labels": {…} | ["violence"] | null,
 "videos": [{"path": "clips/a.mp4", "video_id": "a"?, "video_text": "…"?,
             "generated_from": "ModelA"}, …]}
"""

from __future__ import annotations

import json
from pathlib import Path

from .fields import ID_MAX, FieldErrors, type_name
from .paths import resolve_inside
from .records import ImportIssue, ImportPlan, PromptRecord, VideoRecord

PROMPT_KEYS = ("prompt_id", "prompt_text", "prompt_type", "prompt_labels", "videos")
VIDEO_KEYS = ("path", "video_id", "video_text", "generated_from")


def read_manifest(path: Path, *, display: str | None = None) -> ImportPlan:
    """Every prompt and video the manifest describes, plus every problem found on the way."""
    display = display or path.name
    plan = ImportPlan()
    root = path.parent
    try:
        raw = path.read_bytes()
    except OSError as exc:
        plan.issues.append(ImportIssue(display, 0, "", f"cannot read the manifest: {exc}"))
        return plan
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        plan.issues.append(ImportIssue(display, 0, "", f"is not UTF-8 text: {exc.reason}"))
        return plan
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            _read_line(plan, root, display, number, line)
    if not plan.prompts and not plan.issues:
        plan.issues.append(ImportIssue(display, 0, "", "the manifest has no prompts"))
    return plan


def _read_line(plan: ImportPlan, root: Path, display: str, number: int, line: str) -> None:
    def issue(field: str, message: str) -> None:
        plan.issues.append(ImportIssue(display, number, field, message))

    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        issue("JSON", f"not valid JSON ({exc.msg} at column {exc.colno})")
        return
    if not isinstance(obj, dict):
        issue("JSON", f"each line must be a JSON object, not {type_name(obj)}")
        return
    errors = FieldErrors()
    errors.unknown_keys(obj, PROMPT_KEYS)
    prompt_id = errors.text(obj, "prompt_id", max_len=ID_MAX)
    prompt_text = errors.text(obj, "prompt_text")
    prompt_type = errors.prompt_type(obj)
    _, labels = errors.harm_label(obj, "prompt_labels")
    videos = obj.get("videos")
    if videos is None:
        errors.add("videos", "is required (a list of at least two videos)")
        videos = []
    elif not isinstance(videos, list):
        errors.add("videos", f"must be a list of video objects, not {type_name(videos)}")
        videos = []
    for index, video in enumerate(videos):
        record = _read_video(errors, root, f"videos[{index}]", video, prompt_id, prompt_text)
        if record is not None:
            record.file, record.line = display, number
            plan.videos.append(record)
    for field, message in errors.items:
        issue(field, message)
    if prompt_id and prompt_text and prompt_type:
        plan.prompts.append(
            PromptRecord(prompt_id, prompt_text, prompt_type, labels, display, number)
        )


def _read_video(
    errors: FieldErrors,
    root: Path,
    where: str,
    video: object,
    prompt_id: str | None,
    prompt_text: str | None,
) -> VideoRecord | None:
    if not isinstance(video, dict):
        errors.add(where, f"must be an object with path and generated_from, not {type_name(video)}")
        return None
    sub = FieldErrors(prefix=f"{where}.")
    sub.unknown_keys(video, VIDEO_KEYS)
    rel = sub.text(video, "path")
    video_id = sub.text(video, "video_id", required=False, max_len=ID_MAX)
    video_text = sub.text(video, "video_text", required=False, default=prompt_text)
    generated_from = sub.text(video, "generated_from", max_len=ID_MAX)
    resolved = None
    if rel is not None:
        resolved, reason = resolve_inside(root, rel)
        if reason:
            sub.add("path", reason)
    errors.items += sub.items
    if sub.items or prompt_id is None or video_text is None:
        return None
    return VideoRecord(prompt_id, video_id, video_text, generated_from, resolved, "", 0, where)
