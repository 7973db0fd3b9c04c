"""Whole-input checks once every file is read and hashed: duplicates must agree."""

from __future__ import annotations

from .fields import ID_MAX
from .records import ImportIssue, ImportPlan, PairRecord, PromptRecord, VideoRecord


def merge_and_check(plan: ImportPlan, *, need_two_videos: bool) -> ImportPlan:
    """One record per prompt, video and pair; disagreeing duplicates become issues.

    SafeSora configs repeat a prompt in every video record and a video in every pair it is
    part of, so identical repeats are expected and merged.
    """
    out = ImportPlan(issues=list(plan.issues), answers=plan.answers)
    prompts = _merge_prompts(plan.prompts, out.issues)
    videos = _merge_videos(plan.videos, prompts, out.issues)
    out.prompts = list(prompts.values())
    out.videos = list(videos.values())
    if plan.pairs is not None:
        out.pairs = _merge_pairs(plan.pairs, videos, out.issues)
    elif need_two_videos:
        count: dict[str, int] = {}
        for video in out.videos:
            count[video.prompt_id] = count.get(video.prompt_id, 0) + 1
        for prompt in out.prompts:
            n = count.get(prompt.prompt_id, 0)
            if n < 2:
                out.issues.append(
                    ImportIssue(
                        prompt.file,
                        prompt.line,
                        "videos",
                        f"prompt {prompt.prompt_id!r} has {n} distinct video(s); a pair needs two",
                    )
                )
    return out


def _merge_prompts(records: list[PromptRecord], issues: list[ImportIssue]):
    seen: dict[str, PromptRecord] = {}
    for record in records:
        first = seen.get(record.prompt_id)
        if first is None:
            seen[record.prompt_id] = record
            continue
        for field, a, b in (
            ("prompt_text", first.text, record.text),
            ("prompt_type", first.prompt_type, record.prompt_type),
        ):
            if a != b:
                issues.append(
                    ImportIssue(
                        record.file,
                        record.line,
                        field,
                        f"prompt {record.prompt_id!r} differs from {first.file}:{first.line}",
                    )
                )
        if record.prompt_labels is not None:
            if first.prompt_labels is None:
                first.prompt_labels = record.prompt_labels
            elif first.prompt_labels != record.prompt_labels:
                issues.append(
                    ImportIssue(
                        record.file,
                        record.line,
                        "prompt_labels",
                        f"prompt {record.prompt_id!r} differs from {first.file}:{first.line}",
                    )
                )
    return seen


def _merge_videos(
    records: list[VideoRecord], prompts: dict[str, PromptRecord], issues: list[ImportIssue]
):
    seen: dict[str, VideoRecord] = {}
    for record in records:
        if not record.sha256:
            continue  # unreadable file, already reported
        if record.video_id is None:
            record.video_id = record.sha256
        if len(record.video_id) > ID_MAX:
            issues.append(
                ImportIssue(
                    record.file,
                    record.line,
                    f"{record.field}.video_id",
                    f"is longer than {ID_MAX} characters",
                )
            )
            continue
        first = seen.get(record.video_id)
        if first is None:
            seen[record.video_id] = record
            continue
        for field, a, b in (
            ("prompt_id", first.prompt_id, record.prompt_id),
            ("video_text", first.video_text, record.video_text),
            ("generated_from", first.generated_from, record.generated_from),
            ("path", first.sha256, record.sha256),
        ):
            if a != b:
                what = "file content" if field == "path" else field
                issues.append(
                    ImportIssue(
                        record.file,
                        record.line,
                        f"{record.field}.video_id",
                        f"video {record.video_id!r} appears again with different {what} "
                        f"(first at {first.file}:{first.line}); give each video its own video_id",
                    )
                )
                break
    return seen


def _merge_pairs(
    records: list[PairRecord], videos: dict[str, VideoRecord], issues: list[ImportIssue]
) -> list[PairRecord]:
    by_id: dict[str, PairRecord] = {}
    by_videos: dict[frozenset, PairRecord] = {}
    for record in records:
        if record.video_0 not in videos or record.video_1 not in videos:
            continue  # a video of it is broken, already reported
        key = frozenset((record.video_0, record.video_1))
        first = by_id.get(record.pair_id)
        if first is not None:
            if (first.video_0, first.video_1) != (record.video_0, record.video_1):
                issues.append(
                    ImportIssue(
                        record.file,
                        record.line,
                        "pair_id",
                        f"pair {record.pair_id!r} appears again with other videos "
                        f"(first at {first.file}:{first.line})",
                    )
                )
            continue
        other = by_videos.get(key)
        if other is not None:
            issues.append(
                ImportIssue(
                    record.file,
                    record.line,
                    "pair_id",
                    f"videos {record.video_0!r} and {record.video_1!r} are already paired as "
                    f"{other.pair_id!r} at {other.file}:{other.line}",
                )
            )
            continue
        by_id[record.pair_id] = by_videos[key] = record
    return list(by_id.values())
