"""A batch's answers as numpy columns (no Django): what the dashboard's figures are computed from.

One array per property, one entry per annotation (rejected and gold ones included), so every
figure is a few vectorised operations whatever the batch size. The judgements between
generator models arrive already counted (`judgements`): the database groups them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from annotation_server.taxonomy import HARM_KEYS

# The two overall questions the generator comparison ranks models on.
QUESTIONS = ("helpfulness", "harmlessness")

# question → (winner model, loser model) → judgements, models differing.
Judgements = dict[str, dict[tuple[str, str], int]]


@dataclass(frozen=True)
class AnswerColumns:
    annotation_id: np.ndarray  # int64
    annotator_id: np.ndarray  # int64
    pair_id: np.ndarray  # int64
    # (n, len(CHOICE_FIELDS)) bool: True where the answer is "video_1".
    chose_video_1: np.ndarray
    left_is_video_0: np.ndarray  # bool
    is_gold: np.ndarray  # bool
    rejected: np.ndarray  # bool
    gold_score: np.ndarray  # float64, NaN where none
    server_duration_ms: np.ndarray  # int64
    # (n, len(HARM_KEYS)) bool: harm k marked for video_0 / video_1.
    video_0_harms: np.ndarray
    video_1_harms: np.ndarray
    last_active: dict[int, dt.datetime]  # annotator → latest answer
    judgements: Judgements

    def __len__(self) -> int:
        return len(self.annotation_id)


def harm_bits(keys: Iterable[str]) -> int:
    """A harm list as a bit mask (bit k: HARM_KEYS[k])."""
    return sum(1 << HARM_KEYS.index(key) for key in set(keys) if key in HARM_KEYS)


def harm_matrix(masks: np.ndarray) -> np.ndarray:
    """Bit masks (n,) → (n, len(HARM_KEYS)) bool."""
    return (masks[:, None].astype(np.int64) >> np.arange(len(HARM_KEYS))) & 1 == 1


def answer_columns(
    *,
    annotation_id: Sequence[int],
    annotator_id: Sequence[int],
    pair_id: Sequence[int],
    choice_bits: Sequence[int],
    left_is_video_0: Sequence[bool],
    is_gold: Sequence[bool],
    rejected: Sequence[bool],
    gold_score: Sequence[float | None],
    server_duration_ms: Sequence[int],
    video_0_harm_bits: Sequence[int],
    video_1_harm_bits: Sequence[int],
    fields: int,
    last_active: dict[int, dt.datetime],
    judgements: Judgements,
) -> AnswerColumns:
    """Columns from per-annotation sequences; `choice_bits` has bit i set when choice field i
    (CHOICE_FIELDS order, `fields` of them) is "video_1"."""
    bits = np.asarray(choice_bits, dtype=np.int64).reshape(-1)
    return AnswerColumns(
        annotation_id=np.asarray(annotation_id, dtype=np.int64).reshape(-1),
        annotator_id=np.asarray(annotator_id, dtype=np.int64).reshape(-1),
        pair_id=np.asarray(pair_id, dtype=np.int64).reshape(-1),
        chose_video_1=(bits[:, None] >> np.arange(fields)) & 1 == 1,
        left_is_video_0=np.asarray(left_is_video_0, dtype=bool).reshape(-1),
        is_gold=np.asarray(is_gold, dtype=bool).reshape(-1),
        rejected=np.asarray(rejected, dtype=bool).reshape(-1),
        gold_score=np.array(
            [np.nan if s is None else s for s in gold_score], dtype=np.float64
        ).reshape(-1),
        server_duration_ms=np.asarray(server_duration_ms, dtype=np.int64).reshape(-1),
        video_0_harms=harm_matrix(np.asarray(video_0_harm_bits, dtype=np.int64).reshape(-1)),
        video_1_harms=harm_matrix(np.asarray(video_1_harm_bits, dtype=np.int64).reshape(-1)),
        last_active=last_active,
        judgements=judgements,
    )


def columns_from_rows(rows: Sequence, choice_fields: Sequence[str]) -> AnswerColumns:
    """Columns from `stats.AnnotationRow`-like objects (ids numbered in row order): for tests
    and for callers holding rows rather than a batch in the database."""
    last_active: dict[int, dt.datetime] = {}
    judgements: Judgements = {q: Counter() for q in QUESTIONS}
    for r in rows:
        if r.annotator_id not in last_active or r.created_at > last_active[r.annotator_id]:
            last_active[r.annotator_id] = r.created_at
        if not r.is_gold and not r.rejected and r.model_0 != r.model_1:
            for question in QUESTIONS:
                first = r.choices[question] == "video_0"
                winner, loser = (r.model_0, r.model_1) if first else (r.model_1, r.model_0)
                judgements[question][(winner, loser)] += 1
    return answer_columns(
        annotation_id=range(1, len(rows) + 1),
        annotator_id=[r.annotator_id for r in rows],
        pair_id=[r.pair_id for r in rows],
        choice_bits=[
            sum(1 << i for i, name in enumerate(choice_fields) if r.choices[name] == "video_1")
            for r in rows
        ],
        left_is_video_0=[r.left_is_video_0 for r in rows],
        is_gold=[r.is_gold for r in rows],
        rejected=[r.rejected for r in rows],
        gold_score=[r.gold_score for r in rows],
        server_duration_ms=[r.server_duration_ms for r in rows],
        video_0_harm_bits=[harm_bits(r.video_0_harms) for r in rows],
        video_1_harm_bits=[harm_bits(r.video_1_harms) for r in rows],
        fields=len(choice_fields),
        last_active=last_active,
        judgements={q: dict(c) for q, c in judgements.items()},
    )
