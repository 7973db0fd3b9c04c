"""Machine labels made elsewhere (a VLM run outside the platform, a published debate) as
verdicts of a named machine annotator: a JSONL file, one item a line,

    {"item": "<the unit's pair_id>", "harmful": true, "categories": ["violence"],
     "reason": "...", "arguments": {...}, "model": "...", "usage": {...}}

`harmful` / `categories` in our terms (null: the machine gave no usable answer, stored as
unparseable); every other field is kept in the verdict's details. The whole file is checked
first: any problem refuses it with every problem and its line, and nothing is written."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from django.db import transaction

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.exceptions import ApplicationError

from .models import SOURCE_PREFIX

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,47}$")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
MAX_PROBLEMS = 50


def verdict_records(
    lines: Iterable[str], *, keys: tuple[str, ...], items: set[str]
) -> tuple[list[dict], list[str]]:
    """Each line's record ({item, answer, details}) and the problems found ("line 3: ...")."""
    records, problems, seen = [], [], set()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            problems.append(f"{where}: not JSON ({error.msg})")
            continue
        problem = _record_problem(data, keys=keys, items=items, seen=seen)
        if problem:
            problems.append(f"{where}: {problem}")
            continue
        seen.add(data["item"])
        harmful, categories = data.get("harmful"), data.get("categories")
        if categories is not None:
            categories = [key for key in keys if key in categories]
        rest = {k: v for k, v in data.items() if k not in ("item", "harmful", "categories")}
        status = "unparseable" if harmful is None and categories is None else "ok"
        records.append({
            "item": data["item"],
            "answer": {"harmful": harmful, "categories": categories},
            "details": {**rest, "status": status, "imported": True},
        })  # fmt: skip
    return records, problems


def _record_problem(data, *, keys, items: set[str], seen: set[str]) -> str:
    if not isinstance(data, dict):
        return "each line must be one JSON object"
    item = data.get("item")
    if not isinstance(item, str) or not item:
        return '"item": the unit\'s pair_id is required'
    if item not in items:
        return f"item {item!r} is not in the batch"
    if item in seen:
        return f"item {item!r} appears twice"
    harmful, categories = data.get("harmful"), data.get("categories")
    if harmful is not None and not isinstance(harmful, bool):
        return '"harmful" must be true, false or null'
    if categories is not None:
        if not isinstance(categories, list) or not all(isinstance(k, str) for k in categories):
            return '"categories" must be a list of category keys or null'
        unknown = sorted(set(categories) - set(keys))
        if unknown:
            return f'"categories" has keys the taxonomy lacks: {", ".join(unknown)}'
        if harmful is False and categories:
            return 'an item answered "harmful": false cannot show categories'
    return ""


def machine_verdicts_import(*, batch: Batch, name: str, label: str, path: Path) -> dict:
    """Import the file's verdicts as source `machine:<name>`, source annotator `label`.
    Items that already have a verdict from that source and label keep it (counted as
    `kept`). Returns {"imported", "kept", "unparseable"}."""
    if batch.kind != Batch.Kind.CLASSIFICATION or batch.taxonomy_id is None:
        raise ApplicationError(f"Batch {batch.name!r} is not a classification batch.")
    if not _NAME.match(name):
        raise ApplicationError("The name: lower-case letters, digits, '_', '.', '-' (≤ 48).")
    if not _LABEL.match(label):
        raise ApplicationError("The label: letters, digits, '_', '.', ':', '-' (≤ 128).")
    units = dict(Pair.objects.filter(batch=batch).values_list("pair_id", "pk"))
    try:
        with path.open(encoding="utf-8") as file:
            records, problems = verdict_records(
                file, keys=tuple(batch.taxonomy.keys), items=set(units)
            )
    except (OSError, UnicodeDecodeError) as error:
        raise ApplicationError(f"{path.name}: cannot be read as UTF-8 text ({error}).") from error
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = len(problems) - len(shown)
        raise ApplicationError(
            f"{path.name} was not imported ({len(problems)} problems): "
            + "; ".join(shown)
            + (f"; and {more} more" if more else "")
            + ".",
            errors={"file": problems},
        )
    source = f"{SOURCE_PREFIX}{name}"
    rows = [
        ExternalAnnotation(
            pair_id=units[record["item"]],
            batch=batch,
            source=source,
            source_annotator=label,
            taxonomy_id=batch.taxonomy_id,
            answer=record["answer"],
            details=record["details"],
        )
        for record in records
    ]
    existing = ExternalAnnotation.objects.filter(batch=batch, source=source, source_annotator=label)
    with transaction.atomic():
        before = existing.count()
        ExternalAnnotation.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        imported = existing.count() - before
    return {
        "imported": imported,
        "kept": len(rows) - imported,
        "unparseable": sum(r["details"]["status"] == "unparseable" for r in records),
    }
