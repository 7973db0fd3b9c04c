"""The dataset card (README.md) of a Hugging Face export: YAML metadata the Hub and
`datasets.load_dataset` read (configs, features, splits), then what a researcher needs to
trust and cite the data: fields, taxonomy, how it was collected, counts, agreement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from datasets import DatasetInfo, SplitDict, SplitInfo

from annotation_server.batches.models import Batch
from annotation_server.quality import figures as quality_figures
from annotation_server.quality import selectors as quality_selectors
from annotation_server.quality import stats
from annotation_server.quality.models import BatchFigures
from annotation_server.taxonomy import HARM_CATEGORIES, SUB_DIMENSIONS

from .hf import FEATURES

DEFAULT_LICENSE = "cc-by-nc-4.0"  # the SafeSora release's data licence
_TITLES = {
    "preference": "human preferences between two videos of a prompt (VideoPairSample)",
    "label": "harm labels of single videos (VideoSample)",
    "eval": "prompts with their potential harms (PromptSample)",
}
_TASKS = {
    "preference": ["text-to-video", "reinforcement-learning"],
    "label": ["video-classification"],
    "eval": ["text-to-video"],
}


def card_write(
    root: Path,
    *,
    summary: dict[str, Any],
    batch_ids: list[int] | None,
    license: str = DEFAULT_LICENSE,
    pretty_name: str = "SafeSora-style video preference data",
) -> Path:
    """Writes root/README.md for the kinds in `summary["kinds"]` (hf.write_kind results)."""
    kinds: dict[str, dict[str, Any]] = summary["kinds"]
    total = sum(sum(info["records"].values()) for info in kinds.values())
    metadata = {
        "pretty_name": pretty_name,
        "license": license,
        "task_categories": sorted({t for kind in kinds for t in _TASKS[kind]}),
        "tags": ["safety", "human-feedback", "preference", "video", "safesora"],
        "size_categories": [_size_category(total)],
        "configs": [
            _config(kind, info, default=i == 0) for i, (kind, info) in enumerate(kinds.items())
        ],
        "dataset_info": [_info(kind, info) for kind, info in kinds.items()],
    }
    front = yaml.safe_dump(metadata, sort_keys=False, allow_unicode=True)
    body = _body(kinds, _agreement(batch_ids), license, pretty_name)
    path = root / "README.md"
    path.write_text(f"---\n{front}---\n\n{body}", encoding="utf-8")
    return path


def _size_category(n: int) -> str:
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K")):
        if n < limit:
            return name
    return "100K<n<1M" if n < 1_000_000 else "n>1M"


def _written(info: dict[str, Any]) -> list[str]:
    return [split for split, files in info["files"].items() if files]


def _config(kind: str, info: dict[str, Any], *, default: bool) -> dict[str, Any]:
    config: dict[str, Any] = {"config_name": kind}
    if default:
        config["default"] = True  # `load_dataset(folder)` with no name loads this one
    config["data_files"] = [
        {"split": split, "path": info["files"][split][0].rsplit("-", 3)[0] + "-*"}
        for split in _written(info)
    ]
    return config


def _info(kind: str, info: dict[str, Any]) -> dict[str, Any]:
    splits = SplitDict()
    for split in _written(info):
        splits.add(
            SplitInfo(split, num_bytes=info["bytes"][split], num_examples=info["records"][split])
        )
    yaml_info = DatasetInfo(features=FEATURES[kind], splits=splits)._to_yaml_dict()
    return {"config_name": kind, **yaml_info}


def _agreement(batch_ids: list[int] | None) -> list[tuple[str, list[stats.AgreementRow]]]:
    """Krippendorff's alpha and raw agreement per question, for each exported batch: the
    dashboard's table. Its stored figures are used when they describe the batch's answers as
    they are now; otherwise the table is computed from the answers (and not stored: the
    dashboard's refresh also computes figures the card does not show)."""
    batches = Batch.objects.filter(annotations__isnull=False).distinct().order_by("name")
    if batch_ids is not None:
        batches = batches.filter(pk__in=batch_ids)
    batches = list(batches)
    stored = {row.batch_id: row for row in BatchFigures.objects.filter(batch__in=batches)}
    return [(batch.name, _batch_agreement(batch, stored.get(batch.pk))) for batch in batches]


def _batch_agreement(batch: Batch, stored: BatchFigures | None) -> list[stats.AgreementRow]:
    if stored is not None and _current(batch, stored):
        return [stats.AgreementRow(**fields) for fields in stored.data["agreement"]]
    return stats.agreement_table(quality_selectors.batch_answers(batch=batch))


def _current(batch: Batch, stored: BatchFigures) -> bool:
    """The stored figures are pairwise ones of the current layout, and of the answers now
    (the version the dashboard compares: count, newest id, rejected)."""
    data = stored.data
    layout = (data.get("format"), data.get("kind", Batch.Kind.PAIRWISE))
    if layout != (quality_figures.FORMAT, Batch.Kind.PAIRWISE):
        return False
    version = quality_selectors.AnswerVersion(
        stored.annotations, stored.last_annotation_id, stored.rejected
    )
    return version == quality_selectors.annotation_version(batch=batch)


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _body(kinds, agreement, license: str, pretty_name: str) -> str:
    lines = [f"# {pretty_name}", ""]
    lines += [
        "Text-to-video safety data in the SafeSora format, annotated on our platform and",
        "exported with `manage.py export_safesora --format hf`. Configurations:",
        "",
    ]
    for kind, info in kinds.items():
        counts = ", ".join(f"{n:,} {split}" for split, n in info["records"].items() if n)
        lines.append(f"- `{kind}`: {_TITLES[kind]}: {counts or 'no records'}")
    first = next(iter(kinds))
    lines += [
        "",
        "## Loading",
        "",
        "```python",
        "from datasets import Video, load_dataset",
        f'ds = load_dataset("path/or/repo", "{first}")',
        f'ds["train"].features["{"helpfulness" if first == "preference" else "prompt_type"}"]'
        ".int2str(0)",
        "```",
        "",
        "Videos are `datasets.Video` features: `{bytes, path}`. With `--videos embed` the",
        "bytes are in the shards; otherwise `path` is the SafeSora path",
        "`videos/<prompt_id>/<video_id>.mp4` inside the dataset folder. Decoding needs",
        "`torchcodec`; without it, read them undecoded with",
        '`ds.cast_column("video_0", {**ds.features["video_0"], "video": Video(decode=False)})`.',
        "",
        "## Fields",
        "",
        "Rows are the SafeSora records of their kind, typed:",
        "- `prompt_type`: ClassLabel `safety_critical` (0) / `safety_neutral` (1).",
        "- `helpfulness`, `harmlessness` and each `sub_preferences` field: ClassLabel",
        "  `video_0` (0) / `video_1` (1), the video preferred by the annotators' majority.",
        "- `prompt_labels` / `video_labels`: the SafeSora HarmLabel, 12 booleans;",
        "  `prompt_harms` / `video_harms`: the present harms as ClassLabels of the taxonomy.",
        "- In a pair, `video_0` / `video_1` hold `video_id`, `video_text`, `video_path`,",
        "  `video`, `is_safe` and `generated_from` (the prompt fields are on the row).",
        "",
        "## Taxonomy",
        "",
        "| class id | code | key | category |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {i} | {c.code} | `{c.key}` | {c.label_en} |" for i, c in enumerate(HARM_CATEGORIES)
    ]
    lines += ["", "Helpfulness sub-dimensions: "]
    lines[-1] += ", ".join(f"`{d.key}` ({d.label_en})" for d in SUB_DIMENSIONS) + "."
    lines += _collection_lines()
    lines += _count_lines(kinds)
    lines += _agreement_lines(agreement)
    lines += ["", "## License", "", f"`{license}`.", ""]
    return "\n".join(lines)


def _collection_lines() -> list[str]:
    return [
        "",
        "## How it was collected",
        "",
        "Crowdworkers compare two generated videos of the same prompt, shown left and right",
        "in random order. Stage 1 (heuristic): which video is better on each helpfulness",
        "sub-dimension, and which of the 12 harm categories each text-video pair shows.",
        "Stage 2 (overall): which video is more helpful and which is safer. Each pair is",
        "judged by several annotators; gold pairs with known answers measure them and are",
        "not part of the data, and work an admin rejected is left out.",
        "",
        "Aggregation: each preference is decided by a strict majority; a tie goes to the side",
        "whose annotators are more reliable (gold accuracy, then agreement with the others),",
        "and a pair still tied is left out. A harm is present on a video when at least half",
        "of its judgements, across all its pairs, name it. `is_safe` is true when no harm is.",
    ]


def _count_lines(kinds) -> list[str]:
    lines = ["", "## Counts", "", "| config | split | records |", "|---|---|---|"]
    for kind, info in kinds.items():
        for split, n in info["records"].items():
            lines.append(f"| {kind} | {split} | {n:,}{'' if n else ' (not written)'} |")
    for kind, info in kinds.items():
        for reason, n in info["skipped"].items():
            lines.append(f"\n{kind}: {n:,} left out: {reason}.")
    return lines


def _agreement_lines(agreement) -> list[str]:
    lines = ["", "## Agreement", ""]
    if not agreement:
        return lines + ["No batch with answers was exported."]
    lines += [
        "Inter-annotator agreement over pairs with two or more answers (Krippendorff's",
        "alpha, nominal; raw: share of agreeing answer pairs).",
    ]
    for name, rows in agreement:
        lines += ["", f"Batch `{name}`:", "", "| question | alpha | raw | units |"]
        lines.append("|---|---|---|---|")
        lines += [
            f"| {r.group}: {r.label} | {_figure(r.alpha)} | {_figure(r.raw)} | {r.units:,} |"
            for r in rows
        ]
    return lines
