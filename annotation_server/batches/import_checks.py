"""An import checked against the database: ids of earlier imports are reused when they
describe the same thing and refused when they differ (batches/services.py, step 4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from annotation_server.catalog.importers import ImportIssue, ImportPlan
from annotation_server.catalog.models import Prompt, Video

LOOKUP_SIZE = 5000  # ids per `IN (…)` lookup of existing rows


@dataclass
class ExistingRows:
    """Rows of earlier imports that this input names, checked to agree with it."""

    prompts: dict[str, dict]
    videos: dict[str, dict]
    label_updates: list[tuple[int, dict]]

    @classmethod
    def load(cls, plan: ImportPlan, issues: list[ImportIssue]) -> ExistingRows:
        prompts = rows_lookup(
            Prompt,
            "prompt_id",
            [p.prompt_id for p in plan.prompts],
            ("id", "prompt_id", "text", "prompt_type", "prompt_labels"),
        )
        videos = rows_lookup(
            Video,
            "video_id",
            [v.video_id for v in plan.videos],
            (
                "id",
                "video_id",
                "prompt__prompt_id",
                "video_text",
                "generated_from",
                "sha256",
                "status",
            ),
        )
        updates = compare_prompts(plan, prompts, issues)
        compare_videos(plan, videos, issues)
        return cls(prompts, videos, updates)


def report_conflicts(
    issues: list[ImportIssue],
    record,
    *,
    entity: str,
    ident: str,
    field: str | None,
    checks: tuple[tuple[str, Any, Any], ...],
) -> None:
    """An id already in the database must describe the same thing.

    With `field` None each differing attribute is its own issue on that attribute; with a
    `field` every issue would land on it, so only the first difference is reported.
    """
    for name, ours, theirs in checks:
        if ours != theirs:
            issues.append(
                ImportIssue(
                    record.file,
                    record.line,
                    field or name,
                    f"{entity} {ident!r} already exists with another {name}; "
                    f"give this {entity} another {entity}_id",
                )
            )
            if field is not None:
                return


def compare_prompts(
    plan: ImportPlan, rows: dict[str, dict], issues: list[ImportIssue]
) -> list[tuple[int, dict]]:
    """Existing prompts must match; returns (pk, labels) for those that gain labels."""
    updates = []
    for record in plan.prompts:
        row = rows.get(record.prompt_id)
        if row is None:
            continue
        report_conflicts(
            issues,
            record,
            entity="prompt",
            ident=record.prompt_id,
            field=None,
            checks=(
                ("prompt_text", record.text, row["text"]),
                ("prompt_type", record.prompt_type, row["prompt_type"]),
            ),
        )
        if record.prompt_labels is not None:
            if row["prompt_labels"] is None:
                updates.append((row["id"], record.prompt_labels))
            elif row["prompt_labels"] != record.prompt_labels:
                issues.append(
                    ImportIssue(
                        record.file,
                        record.line,
                        "prompt_labels",
                        f"prompt {record.prompt_id!r} already exists with other labels",
                    )
                )
    return updates


def compare_videos(plan: ImportPlan, rows: dict[str, dict], issues: list[ImportIssue]) -> None:
    for record in plan.videos:
        row = rows.get(record.video_id)
        if row is None:
            continue
        report_conflicts(
            issues,
            record,
            entity="video",
            ident=record.video_id,
            field=f"{record.field}.video_id",
            checks=(
                ("prompt_id", record.prompt_id, row["prompt__prompt_id"]),
                ("video_text", record.video_text, row["video_text"]),
                ("generated_from", record.generated_from, row["generated_from"]),
                ("file content", record.sha256, row["sha256"]),
            ),
        )


def rows_lookup(model: Any, key: str, ids: list[str], fields: tuple[str, ...]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for start in range(0, len(ids), LOOKUP_SIZE):
        chunk = ids[start : start + LOOKUP_SIZE]
        for row in model.objects.filter(**{f"{key}__in": chunk}).values(*fields):
            found[row[key]] = row
    return found
