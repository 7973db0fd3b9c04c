"""Writing SafeSora datasets: `export_run`, used by the command line and by export jobs
(exports/jobs.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import Progress

from . import selectors
from .classification import classification_batches
from .classification_formats import label_write, vhd11k_write
from .dataset import ITEMS, Judgements, Selection, item_count, judgements_collect
from .files import VideoPlacer, atomic_directory, tar_videos
from .raw import annotator_pseudonym, raw_write
from .safesora import KINDS
from .writers import GzipJsonListWriter, splits_drop_empty

VIDEO_MODES = ("none", "copy", "link")
FORMATS = ("safesora", "hf")
HF_VIDEO_MODES = ("embed", "none")  # Parquet rows carry the bytes, or only the paths
SKIP_FILE_MISSING = "video file missing"
__all__ = ["annotator_pseudonym", "export_run", "export_options_check"]
_PROGRESS_EVERY = 500


def export_run(
    *,
    out: Path,
    kind: str = "preference",
    batch_names: Sequence[str] = (),
    test_fraction: float = 0.1,
    seed: int = 0,
    videos: str = "none",
    tar: bool = False,
    min_annotations: int = 1,
    raw: bool = False,
    force: bool = False,
    progress: Progress | None = None,
    format: str = "safesora",
    license: str | None = None,
    arguments_from: str | None = None,
    decision_from: str | None = None,
) -> dict[str, Any]:
    """Write SafeSora dataset(s) to `out` and return the summary.

    `kind` "all" writes preference/, label/ and eval/ sub-folders (with `format` "hf": one
    configuration each, data/<kind>/, one dataset card). Everything is written into a
    temporary folder beside `out` and renamed into place at the end. Raises ApplicationError
    for bad options, unknown batches, or a non-empty `out` without `force`.
    """
    classification = _classification_batches(kind, batch_names, format)
    if (arguments_from or decision_from) and kind != "vhd11k":
        raise ApplicationError(
            "--arguments-from and --decision-from fill VHD11K columns: use them with --kind vhd11k."
        )
    _validate_options("label" if kind == "vhd11k" else kind, test_fraction, videos, tar,
                      min_annotations, format)  # fmt: skip
    batch_ids = _batch_ids(batch_names)
    selection = Selection(
        batch_ids=batch_ids,
        max_annotation_id=selectors.annotation_max_id(),
        test_fraction=test_fraction,
        seed=seed,
        min_annotations=min_annotations,
    )
    progress = progress or (lambda stage, done, total: None)
    if classification is not None:
        machines = {"arguments_from": arguments_from, "decision_from": decision_from}
        return _write_classification(
            out, kind, classification, selection, videos, tar, force, raw, progress, machines
        )
    kinds = KINDS if kind == "all" else (kind,)
    summary: dict[str, Any] = {"out": str(Path(out).absolute()), "kinds": {}}
    with atomic_directory(Path(out), force=force) as root:
        progress("collecting judgements", 0, 0)
        judgements = judgements_collect(selection)
        for name in kinds:
            if format == "hf":
                summary["kinds"][name] = _write_hf_kind(
                    name, root, kind == "all", selection, judgements, videos, progress
                )
                continue
            folder = root / name if kind == "all" else root
            folder.mkdir(exist_ok=True)
            summary["kinds"][name] = _write_kind(
                name, folder, selection, judgements, videos=videos, tar=tar, progress=progress
            )
        if format == "hf":
            from .hf_card import DEFAULT_LICENSE, card_write

            card_write(
                root, summary=summary, batch_ids=batch_ids, license=license or DEFAULT_LICENSE
            )
        if raw:
            summary.update(raw_write(root, selection, classification=False))
    return summary


def export_options_check(
    *,
    kind: str,
    batch_names: Sequence[str],
    test_fraction: float,
    videos: str,
    tar: bool,
    min_annotations: int,
) -> None:
    """Raise ApplicationError naming the first bad option (forms call this before saving)."""
    _validate_options(kind, test_fraction, videos, tar, min_annotations)
    _batch_ids(batch_names)


def _validate_options(
    kind: str,
    test_fraction: float,
    videos: str,
    tar: bool,
    min_annotations: int,
    format: str = "safesora",
) -> None:
    if kind not in (*KINDS, "all"):
        raise ApplicationError(f"Unknown kind {kind!r}: use preference, label, eval or all.")
    if not 0.0 <= test_fraction <= 1.0:
        raise ApplicationError(f"--test-fraction must be between 0 and 1, got {test_fraction}.")
    if format not in FORMATS:
        raise ApplicationError(f"--format must be safesora or hf, got {format!r}.")
    if format == "hf":
        if videos not in HF_VIDEO_MODES or tar:
            raise ApplicationError(
                "--format hf puts videos in the Parquet shards: use --videos embed (bytes) or "
                "--videos none (paths only), without --tar."
            )
    elif videos not in VIDEO_MODES:
        raise ApplicationError(f"--videos must be copy, link or none, got {videos!r}.")
    if tar and videos == "none":
        raise ApplicationError("--tar packs the video files: use it with --videos copy or link.")
    if min_annotations < 1:
        raise ApplicationError("--min-annotations must be at least 1.")


def _classification_batches(kind: str, names: Sequence[str], format: str) -> list | None:
    """The named batches when they are classification batches (exported by
    exports/classification_formats.py); None for pairwise ones."""
    batches = classification_batches(names) if names else None
    if kind == "vhd11k" and batches is None:
        raise ApplicationError(
            "--kind vhd11k exports classification batches: name them with --batch."
        )
    if batches is not None and kind not in ("label", "vhd11k"):
        raise ApplicationError(
            f"Classification batches export as --kind label (SafeSora-Label) or --kind vhd11k, "
            f"not {kind!r}."
        )
    if batches is not None and format != "safesora":
        raise ApplicationError("Classification batches are exported with --format safesora.")
    return batches


def _write_classification(out, kind, batches, selection, videos, tar, force, raw, progress,
                          machines):  # fmt: skip
    if kind == "vhd11k" and (videos != "none" or tar):
        raise ApplicationError(
            "--kind vhd11k always packs the originals in its zips: leave out --videos and --tar."
        )
    summary: dict[str, Any] = {"out": str(Path(out).absolute()), "kinds": {}}
    with atomic_directory(Path(out), force=force) as root:
        if kind == "vhd11k":
            summary["kinds"][kind] = vhd11k_write(
                root, batches, selection, progress=progress, **machines
            )
        else:
            summary["kinds"][kind] = label_write(
                root, batches, selection, videos=videos, tar=tar, progress=progress
            )
        if raw:
            summary.update(raw_write(root, selection, classification=True))
    return summary


def _batch_ids(names: Sequence[str]) -> list[int] | None:
    if not names:
        return None
    found = selectors.batch_list_by_names(list(names))
    missing = sorted(set(names) - {batch.name for batch in found})
    if missing:
        raise ApplicationError(f"No batch named {', '.join(map(repr, missing))}.")
    return [batch.pk for batch in found]


def _write_kind(
    kind: str,
    folder: Path,
    selection: Selection,
    judgements: Judgements,
    *,
    videos: str,
    tar: bool,
    progress: Progress,
) -> dict[str, Any]:
    placer = VideoPlacer(folder, videos if kind != "eval" else "none")
    skipped: Counter[str] = Counter()
    total = item_count(kind, selection)
    done = 0
    progress(f"writing {kind}", 0, total)
    with (
        GzipJsonListWriter(folder / "config-train.json.gz") as train,
        GzipJsonListWriter(folder / "config-test.json.gz") as test,
    ):
        for item in ITEMS[kind](selection, judgements):
            if item.skip:
                skipped[item.skip] += 1
            elif not all(placer.place(video) for video in item.videos):
                skipped[SKIP_FILE_MISSING] += 1
            else:
                (test if item.split == "test" else train).write(item.record)
            done += 1
            if done % _PROGRESS_EVERY == 0:
                progress(f"writing {kind}", done, total)
    progress(f"writing {kind}", done, total)
    if tar and kind != "eval":
        tar_videos(folder)
    return {
        "records": {"train": train.count, "test": test.count},
        "not_written": splits_drop_empty(train, test),
        "skipped": dict(sorted(skipped.items())),
        "videos": {"copied": placer.copied, "linked": placer.linked},
    }


def _write_hf_kind(
    kind: str,
    root: Path,
    nested: bool,
    selection: Selection,
    judgements: Judgements,
    videos: str,
    progress: Progress,
) -> dict[str, Any]:
    # Imported here: `datasets` takes about a second to import, and only this path needs it.
    from .hf import write_kind

    data = root / "data" / kind if nested else root / "data"
    return write_kind(kind, root, data, selection, judgements, videos=videos, progress=progress)
