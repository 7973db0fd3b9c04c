"""A classification batch's answers, and the external labels that came with its items, as numpy
columns (no Django): what its dashboard figures are computed from.

One entry per answer. A verdict is a row of binary fields: `harmful` first, then one per
category key (the batch's taxonomy order). A field a question did not ask, or a source did
not decide, is unknown: `known` is False there, so it counts for nothing either way.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

HARMFUL = "harmful"


@dataclass(frozen=True)
class Verdicts:
    """(n, 1 + len(keys)) bool matrices: the value of each field, and whether it is known."""

    keys: tuple[str, ...]  # category keys: field 1 + k is keys[k]
    value: np.ndarray
    known: np.ndarray

    @property
    def fields(self) -> tuple[str, ...]:
        return (HARMFUL, *self.keys)


@dataclass(frozen=True)
class LabelColumns:
    annotation_id: np.ndarray  # int64
    annotator_id: np.ndarray  # int64
    pair_id: np.ndarray  # int64
    is_gold: np.ndarray  # bool
    rejected: np.ndarray  # bool
    gold_score: np.ndarray  # float64, NaN where none
    server_duration_ms: np.ndarray  # int64
    verdicts: Verdicts
    last_active: dict[int, dt.datetime]  # annotator → latest answer

    def __len__(self) -> int:
        return len(self.annotation_id)


@dataclass(frozen=True)
class ExternalColumns:
    pair_id: np.ndarray  # int64
    source: np.ndarray  # int64 index into `sources`
    sources: tuple[str, ...]  # sorted
    verdicts: Verdicts

    def __len__(self) -> int:
        return len(self.pair_id)


def verdicts(
    harmful: Sequence[bool | None], categories_text: Sequence[str | None], keys: Sequence[str]
) -> Verdicts:
    """Verdicts from per-answer `harmful` and the category list as JSON text (None: not
    asked / not decided). Keys outside `keys` are ignored. Each distinct list is decoded
    once: a batch has few of them, however many answers."""
    keys = tuple(keys)
    index = {key: k for k, key in enumerate(keys)}
    rows: dict[str | None, int] = {}
    table: list[list[bool]] = []
    known_table: list[bool] = []
    for text in categories_text:
        if text not in rows:
            decoded = json.loads(text) if text is not None else None
            present = {index[key] for key in decoded or () if key in index}
            rows[text] = len(table)
            table.append([k in present for k in range(len(keys))])
            known_table.append(isinstance(decoded, list))
    codes = np.fromiter((rows[t] for t in categories_text), dtype=np.int64)
    width = len(keys)
    categories = np.array(table, dtype=bool).reshape(len(table), width)[codes]
    categories_known = np.asarray(known_table, dtype=bool)[codes]
    harmful_known = np.fromiter((h is not None for h in harmful), dtype=bool, count=len(codes))
    harmful_value = np.fromiter((h is True for h in harmful), dtype=bool, count=len(codes))
    return Verdicts(
        keys=keys,
        value=np.column_stack([harmful_value, categories]),
        known=np.column_stack([harmful_known, np.repeat(categories_known[:, None], width, 1)]),
    )


def label_columns(
    *,
    annotation_id: Sequence[int],
    annotator_id: Sequence[int],
    pair_id: Sequence[int],
    is_gold: Sequence[bool],
    rejected: Sequence[bool],
    gold_score: Sequence[float | None],
    server_duration_ms: Sequence[int],
    verdicts: Verdicts,
    last_active: dict[int, dt.datetime],
) -> LabelColumns:
    return LabelColumns(
        annotation_id=np.asarray(annotation_id, dtype=np.int64).reshape(-1),
        annotator_id=np.asarray(annotator_id, dtype=np.int64).reshape(-1),
        pair_id=np.asarray(pair_id, dtype=np.int64).reshape(-1),
        is_gold=np.asarray(is_gold, dtype=bool).reshape(-1),
        rejected=np.asarray(rejected, dtype=bool).reshape(-1),
        gold_score=np.array(
            [np.nan if s is None else s for s in gold_score], dtype=np.float64
        ).reshape(-1),
        server_duration_ms=np.asarray(server_duration_ms, dtype=np.int64).reshape(-1),
        verdicts=verdicts,
        last_active=last_active,
    )


def external_columns(
    *, pair_id: Sequence[int], source: Sequence[str], verdicts: Verdicts
) -> ExternalColumns:
    sources, index = np.unique(np.asarray(source, dtype=str), return_inverse=True)
    return ExternalColumns(
        pair_id=np.asarray(pair_id, dtype=np.int64).reshape(-1),
        source=index.astype(np.int64).reshape(-1),
        sources=tuple(str(s) for s in sources),
        verdicts=verdicts,
    )
