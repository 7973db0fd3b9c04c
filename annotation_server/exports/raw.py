"""`--raw`: every single answer of an export, beside the aggregated dataset.

`annotations.jsonl` holds our workers' answers, one line each (`annotator_kind: "human"`,
the annotator as a pseudonym): a pairwise batch's choices and harm lists, or a
classification batch's harmful, categories, reason, confidence and taxonomy.
`machine_annotations.jsonl` holds the machine annotators' verdicts on the same batches
(external annotations of source `machine:<name>`, `annotator_kind: "machine"`): kept
apart, so nobody mistakes a program's label for a person's.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

from django.conf import settings

from annotation_server.annotations.models import ExternalAnnotation

from . import selectors
from .aggregation import DECISION_KEYS
from .classification import MACHINE_PREFIX
from .dataset import Selection
from .writers import JsonLinesWriter

HUMAN, MACHINE = "human", "machine"
MACHINE_FILE = "machine_annotations.jsonl"
CHUNK_SIZE = 5000


def annotator_pseudonym(user_id: int) -> str:
    """Stable across exports, meaningless without SECRET_KEY: researchers can group answers
    by annotator without learning who they are."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"annotator:{user_id}".encode(), hashlib.sha256).hexdigest()[:16]


def raw_write(root: Path, selection: Selection, *, classification: bool) -> dict[str, int]:
    """Write annotations.jsonl (and machine_annotations.jsonl when machines judged any
    item of the batches); the lines written to each ({"raw_annotations",
    "machine_annotations"}, the second only when written)."""
    line = _classification_line if classification else _pairwise_line
    columns = selectors.CLASSIFICATION_RAW_COLUMNS if classification else selectors.RAW_COLUMNS
    rows = selectors.raw_rows(selection.batch_ids, selection.max_annotation_id, columns=columns)
    with JsonLinesWriter(root / "annotations.jsonl") as writer:
        for row in rows:
            writer.write(line(dict(zip(columns, row, strict=True))))
    written = {"raw_annotations": writer.count}
    machines = _machine_rows(selection.batch_ids)
    first = next(machines, None)
    if first is not None:
        with JsonLinesWriter(root / MACHINE_FILE) as machine_writer:
            machine_writer.write(_machine_line(first))
            for row in machines:
                machine_writer.write(_machine_line(row))
        written["machine_annotations"] = machine_writer.count
    return written


def _common(data: dict) -> dict[str, Any]:
    return {
        "annotator_kind": HUMAN,
        "pair_id": data["pair__pair_id"],
        "batch": data["batch__name"],
        "prompt_id": data["pair__prompt__prompt_id"],
        "video_0": data["pair__video_0__video_id"],
        "video_1": data["pair__video_1__video_id"],
        "annotator": annotator_pseudonym(data["annotator_id"]),
    }


def _pairwise_line(data: dict) -> dict[str, Any]:
    left_is_0 = data["left_is_video_0"]
    return {
        **_common(data),
        "shown_left": "video_0" if left_is_0 else "video_1",
        "shown_right": "video_1" if left_is_0 else "video_0",
        "sub_preferences": {key: data[f"pref_{key}"] for key in DECISION_KEYS[:4]},
        "video_0_harms": data["video_0_harms"],
        "video_1_harms": data["video_1_harms"],
        "prompt_harms": data["prompt_harms"],
        "helpfulness": data["helpfulness"],
        "harmlessness": data["harmlessness"],
        "stage1_ms": data["stage1_ms"],
        "stage2_ms": data["stage2_ms"],
        "server_duration_ms": data["server_duration_ms"],
        "submitted_at": data["created_at"].isoformat(),
    }


def _classification_line(data: dict) -> dict[str, Any]:
    line = _common(data)
    del line["video_1"]  # a classification unit has one item
    line["item"] = line.pop("video_0")
    return {
        **line,
        "harmful": data["harmful"],
        "categories": data["categories"],
        "reason": data["reason"],
        "confidence": data["confidence"],
        "taxonomy": {"key": data["taxonomy__name"], "version": data["taxonomy__version"]},
        "stage1_ms": data["stage1_ms"],
        "stage2_ms": data["stage2_ms"],
        "server_duration_ms": data["server_duration_ms"],
        "submitted_at": data["created_at"].isoformat(),
    }


_MACHINE_COLUMNS = (
    "pair__pair_id",
    "batch__name",
    "pair__video_0__video_id",
    "source",
    "source_annotator",
    "taxonomy__name",
    "taxonomy__version",
    "answer",
    "details",
    "created_at",
)


def _machine_rows(batch_ids: list[int] | None):
    rows = ExternalAnnotation.objects.filter(source__startswith=MACHINE_PREFIX, pair__is_gold=False)
    if batch_ids is not None:
        rows = rows.filter(batch_id__in=batch_ids)
    return (
        dict(zip(_MACHINE_COLUMNS, row, strict=True))
        for row in rows.order_by("pair__pair_id", "source", "source_annotator", "id")
        .values_list(*_MACHINE_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _machine_line(data: dict) -> dict[str, Any]:
    details = data["details"] or {}
    label = data["source_annotator"]
    return {
        "annotator_kind": MACHINE,
        "pair_id": data["pair__pair_id"],
        "batch": data["batch__name"],
        "item": data["pair__video_0__video_id"],
        "source": data["source"],
        "annotator": data["source"].removeprefix(MACHINE_PREFIX),
        "version": int(label[1:]) if label[:1] == "v" and label[1:].isdigit() else label,
        "kind": details.get("kind"),
        "model": details.get("model"),
        "status": details.get("status"),
        "answer": data["answer"],
        "usage": details.get("usage"),
        "arguments": details.get("arguments"),
        "taxonomy": {"key": data["taxonomy__name"], "version": data["taxonomy__version"]}
        if data["taxonomy__name"]
        else None,
        "judged_at": data["created_at"].isoformat(),
    }
