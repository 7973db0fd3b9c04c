"""Writing classification batches: SafeSora-Label configs (`label`) and a VHD11K-shaped
release (`vhd11k`), both from our workers' majority (exports/classification.py)."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath
from typing import Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage

from annotation_server.catalog.importers.vhd11k_text import ARGUMENT_COLUMNS, PATH_COLUMNS
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import Progress

from .classification import (
    SKIP_DISAGREE,
    SKIP_FAILED,
    counted_answers,
    machine_verdicts,
    refusal,
    units,
    verdicts_collect,
)
from .dataset import SKIP_NOT_READY, SKIP_UNSAFE_ID, VideoFile, safe_file_name
from .files import VideoPlacer, tar_videos
from .safesora import harm_label, harm_label_from_dict, split_of, video_sample
from .vhd11k_columns import row_values
from .writers import GzipJsonListWriter, splits_drop_empty

SKIP_FILE_MISSING = "video file missing"
LABEL_TAXONOMY = "safesora"
# The VHD11K release's columns in the order its annotator writes them; no critic was used.
VHD11K_COLUMNS = (
    "decision",
    "harmfulType",
    "affirmativeDebater_argument_0",
    "affirmativeDebater_argument_1",
    "negativeDebater_argument_0",
    "negativeDebater_argument_1",
)
assert set(VHD11K_COLUMNS[2:]) == {column for _, _, column in ARGUMENT_COLUMNS}


def _skip_reason(verdict, needed: int) -> str | None:
    if verdict is None or verdict.answers < needed:
        return f"fewer than {needed} answers"
    if not verdict.consistent:
        return SKIP_DISAGREE
    return None


def label_write(
    folder: Path, batches: list, selection, *, videos: str, tar: bool, progress: Progress
) -> dict[str, Any]:
    """SafeSora-Label configs (VideoSample records) of classification batches on the
    SafeSora taxonomy; refuses, naming the record field, when the batches cannot fill one."""
    other = [b.name for b in batches if b.taxonomy.name != LABEL_TAXONOMY or not b.ask_categories]
    if other:
        raise ApplicationError(
            f"video_labels: batch(es) {', '.join(map(repr, other))} do not ask the 12 SafeSora "
            "harm categories (taxonomy safesora, with categories asked); export them with "
            "--kind vhd11k instead. Nothing was written."
        )
    batch_ids = [b.pk for b in batches]
    rows = list(units(batch_ids))
    _label_refusals(rows)
    order = [c["key"] for c in batches[0].taxonomy.categories]
    verdicts = verdicts_collect(batch_ids, selection.max_annotation_id, order)
    placer = VideoPlacer(folder, videos)
    skipped: Counter[str] = Counter()
    needed = max(1, selection.min_annotations)
    progress("writing label", 0, len(rows))
    with (
        GzipJsonListWriter(folder / "config-train.json.gz") as train,
        GzipJsonListWriter(folder / "config-test.json.gz") as test,
    ):
        for done, row in enumerate(rows, 1):
            prompt_id, video_id = row["prompt__prompt_id"], row["video_0__video_id"]
            verdict = verdicts.get(row["video_0_id"])
            reason = _skip_reason(verdict, needed)
            if not (safe_file_name(prompt_id) and safe_file_name(video_id)):
                reason = SKIP_UNSAFE_ID
            elif row["video_0__status"] != "ready":
                reason = reason or SKIP_NOT_READY
            # The original, as imported (its full decode was checked before it became
            # ready): byte for byte the file a re-import of this dataset finds in the catalog.
            file = VideoFile(row["video_0_id"], prompt_id, video_id, row["video_0__source"])
            if reason is None and not placer.place(file):
                reason = SKIP_FILE_MISSING
            if reason:
                skipped[reason] += 1
                continue
            record = video_sample(
                {"prompt_id": prompt_id, "text": row["prompt__text"],
                 "prompt_type": row["prompt__prompt_type"]},
                harm_label_from_dict(row["prompt__prompt_labels"]),
                {"video_id": video_id, "video_text": row["video_0__video_text"],
                 "generated_from": row["video_0__generated_from"]},
                harm_label(verdict.categories),
                with_labels=True,
            )  # fmt: skip
            split = split_of(prompt_id, seed=selection.seed, test_fraction=selection.test_fraction)
            (test if split == "test" else train).write(record)
            progress("writing label", done, len(rows))
    if tar:
        tar_videos(folder)
    return {
        "records": {"train": train.count, "test": test.count},
        "not_written": splits_drop_empty(train, test),
        "skipped": dict(sorted(skipped.items())),
        "videos": {"copied": placer.copied, "linked": placer.linked},
    }


def _label_refusals(rows: list[dict]) -> None:
    checks = (
        (
            "prompt_id, prompt_text, prompt_type, prompt_labels",
            lambda r: r["prompt__prompt_id"] is None,
            "have no prompt",
            "SafeSora-Label records belong to a prompt; export them with --kind vhd11k instead",
        ),
        (
            "video_path",
            lambda r: r["video_0__media_type"] != "video",
            "are images",
            "SafeSora-Label holds videos; export images with --kind vhd11k",
        ),
        (
            "prompt_labels",
            lambda r: r["prompt__prompt_id"] is not None and r["prompt__prompt_labels"] is None,
            "belong to prompts without labels",
            "set the prompts' labels (admin: prompt labels) or import them with the prompts",
        ),
        (
            "generated_from",
            lambda r: not r["video_0__generated_from"],
            "do not name the model that generated them",
            "set Video.generated_from (import it with the videos)",
        ),
    )
    for field, failing, problem, remedy in checks:
        bad = [r for r in rows if failing(r)]
        if bad:
            raise refusal(field, bad, problem, remedy)


def vhd11k_write(
    folder: Path,
    batches: list,
    selection,
    *,
    progress: Progress,
    arguments_from: str | None = None,
    decision_from: str | None = None,
) -> dict[str, Any]:
    """A VHD11K-shaped release of classification batches: per media type, an annotation CSV
    in the release's columns and the items' original files in the zip beside it. The
    debate columns stay "None" unless a counted release row or a machine debate
    (`arguments_from`, machine:NAME[@vN]) gives them (exports/vhd11k_columns.py);
    `decision_from` writes that machine's verdict into decision and harmfulType."""
    batch_ids = [b.pk for b in batches]
    sources = {
        "released": counted_answers(batch_ids),
        "arguments": machine_verdicts(batch_ids, arguments_from) if arguments_from else {},
        "decision": machine_verdicts(batch_ids, decision_from) if decision_from else {},
    }
    order: list[str] = []
    for batch in batches:
        order += [c["key"] for c in batch.taxonomy.categories if c["key"] not in order]
    verdicts = verdicts_collect(batch_ids, selection.max_annotation_id, order)
    needed = max(1, selection.min_annotations)
    skipped: Counter[str] = Counter()
    chosen: dict[str, list[tuple[str, dict, Any]]] = {"image": [], "video": []}
    for row in units(batch_ids):
        verdict = verdicts.get(row["video_0_id"])
        name = _member_name(row["video_0__video_id"], row["video_0__source"])
        reason = _skip_reason(verdict, needed)
        if name is None:
            reason = SKIP_UNSAFE_ID
        elif row["video_0__status"] == "failed":
            reason = reason or SKIP_FAILED
        if reason:
            skipped[reason] += 1
        else:
            chosen[row["video_0__media_type"]].append((name, row, verdict))
    written: dict[str, int] = {}
    for media_type, items in chosen.items():
        if items:
            count = _vhd11k_media_write(
                folder, media_type, sorted(items, key=_first), skipped, sources
            )
            written[media_type] = count
            progress("writing vhd11k", sum(written.values()), sum(map(len, chosen.values())))
    return {
        "records": written,
        "not_written": [],
        "skipped": dict(sorted(skipped.items())),
        "videos": {"zipped": sum(written.values())},
    }


def _first(item: tuple) -> str:
    return item[0]


def _member_name(video_id: str, source: str) -> str | None:
    """The item's bare file name in the zip: its id, with the original's suffix when the id
    has none (the release names items by file name)."""
    if not safe_file_name(video_id):
        return None
    return video_id if PurePosixPath(video_id).suffix else video_id + PurePosixPath(source).suffix


def _vhd11k_media_write(folder: Path, media_type: str, items: list, skipped: Counter,
                        sources: dict) -> int:  # fmt: skip
    # Members are written first: a missing original leaves its row out, and the file names
    # carry the count of rows actually written.
    partial = folder / f".harmful_{media_type}s.zip.partial"
    written: list[tuple[str, dict[str, str]]] = []
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, row, verdict in items:
            try:
                with (
                    default_storage.open(row["video_0__source"], "rb") as src,
                    archive.open(name, "w", force_zip64=True) as dst,
                ):
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (FileNotFoundError, SuspiciousFileOperation):
                skipped[SKIP_FILE_MISSING] += 1
                continue
            pk = row["video_0_id"]
            columns = row_values(
                verdict,
                sources["released"].get(pk, []),
                sources["arguments"].get(pk),
                sources["decision"].get(pk),
            )
            written.append((name, columns))
    count = len(written)
    partial.rename(folder / f"harmful_{media_type}s_{count}.zip")
    # The release's optional critic column only when some row has a critic to write.
    header = (
        (*VHD11K_COLUMNS, "critic") if any("critic" in c for _, c in written) else VHD11K_COLUMNS
    )
    rows = io.StringIO()
    out = csv.writer(rows, lineterminator="\n")
    out.writerow((PATH_COLUMNS[media_type], *header))
    for name, columns in written:
        out.writerow((name, *(columns.get(column, "None") for column in header)))
    ann = folder / f"harmful_{media_type}_{count}_ann.csv"
    ann.write_text(rows.getvalue(), encoding="utf-8")
    return count
