"""How a pairwise batch's majority compares with each external source of answers (no Django):
a SafeSora release's own judgements, the raw answers of an earlier export, a second round's
source.

Two kinds of unit, as in the agreement table: a pair for the six preferences (each a binary
field, True meaning "video_1"), and a pair's video for safety (`harmful`: not is_safe) and
each harm category. The comparison itself is `source_comparison.majority_comparisons`, the
one the classification dashboard uses; only the reading of the answers is pairwise here.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotation_server.quality.classification_columns import HARMFUL, verdicts
from annotation_server.quality.columns import AnswerColumns
from annotation_server.quality.source_comparison import (
    FieldComparison,
    Marks,
    majority_comparisons,
)
from annotation_server.quality.stats import CHOICE_NAMES
from annotation_server.taxonomy import HARM_KEYS

PREFERENCES = CHOICE_NAMES  # the four sub-preferences, helpfulness, harmlessness
VIDEO_FIELDS = (HARMFUL, *HARM_KEYS)
SIDES = ("video_0", "video_1")


@dataclass(frozen=True)
class PairwiseExternal:
    """One entry per external answer."""

    pair_id: np.ndarray  # int64
    source: np.ndarray  # int64 index into `sources`
    sources: tuple[str, ...]  # sorted
    choices: Marks  # (n, len(PREFERENCES)): True where the answer is "video_1"
    videos: tuple[Marks, Marks]  # per side (n, len(VIDEO_FIELDS)): harmful, then each harm

    def __len__(self) -> int:
        return len(self.pair_id)


@dataclass(frozen=True)
class PairwiseSource:
    source: str
    pairs: int  # pairs the source gives a preference on
    preferences: list[FieldComparison]  # PREFERENCES order
    videos: int  # pairs' videos the source labels
    harms: list[FieldComparison]  # VIDEO_FIELDS order


def _choice(text: str | None) -> bool | None:
    # PostgreSQL casts a JSON string to text with its quotes; accept it bare as well.
    value = text.strip('"') if isinstance(text, str) else None
    return {"video_0": False, "video_1": True}.get(value)


def _is_safe(text: str | None) -> bool | None:
    return {"true": True, "false": False}.get(text)


def pairwise_external(
    *,
    pair_id: Sequence[int],
    source: Sequence[str],
    choices_text: Sequence[Sequence[str | None]],
    is_safe_text: tuple[Sequence[str | None], Sequence[str | None]],
    harms_text: tuple[Sequence[str | None], Sequence[str | None]],
) -> PairwiseExternal:
    """Columns from the answers' fields as JSON text (None where the answer lacks one):
    `choices_text[f][i]` is preference f of answer i. A video's safety is its `is_safe`
    where the answer has one, else whether its harm list names any harm."""
    sources, index = np.unique(np.asarray(source, dtype=str), return_inverse=True)
    decided = [[_choice(t) for t in column] for column in choices_text]
    choices = Marks(
        value=np.array([[c is True for c in column] for column in decided], bool).T,
        known=np.array([[c is not None for c in column] for column in decided], bool).T,
    )
    videos = []
    for safe_text, harm_text in zip(is_safe_text, harms_text, strict=True):
        safe = [_is_safe(t) for t in safe_text]
        found = verdicts([None if s is None else not s for s in safe], harm_text, HARM_KEYS)
        value, known = found.value.copy(), found.known.copy()
        listed = ~known[:, 0] & known[:, 1]  # no is_safe, but a harm list
        value[listed, 0] = value[listed, 1:].any(axis=1)
        known[listed, 0] = True
        videos.append(Marks(value=value, known=known))
    return PairwiseExternal(
        pair_id=np.asarray(pair_id, dtype=np.int64).reshape(-1),
        source=index.astype(np.int64).reshape(-1),
        sources=tuple(str(s) for s in sources),
        choices=choices,
        videos=(videos[0], videos[1]),
    )


def external_from_answers(rows: Sequence[tuple[int, str, dict]]) -> PairwiseExternal:
    """Columns from (pair, source, answer) with the answer as stored (a dict in our terms):
    for tests and for callers holding answers rather than a batch in the database."""

    def text(value):
        return None if value is None else json.dumps(value)

    def pick(answer: dict, name: str):
        if name.startswith("pref_"):
            return (answer.get("sub_preferences") or {}).get(name.removeprefix("pref_"))
        return answer.get(name)

    return pairwise_external(
        pair_id=[r[0] for r in rows],
        source=[r[1] for r in rows],
        choices_text=[[text(pick(r[2], name)) for r in rows] for name in PREFERENCES],
        is_safe_text=tuple([text(r[2].get(f"{s}_is_safe")) for r in rows] for s in SIDES),
        harms_text=tuple([text(r[2].get(f"{s}_harms")) for r in rows] for s in SIDES),
    )


def pairwise_comparisons(
    answers: AnswerColumns, external: PairwiseExternal
) -> list[PairwiseSource]:
    """Per external source: our workers' majority (kept answers, gold pairs included) against
    the source's, per preference on each pair and per safety field on each pair's video."""
    kept = ~answers.rejected
    pairs = answers.pair_id[kept]
    everything = np.ones_like(answers.chose_video_1[kept])
    preferences = majority_comparisons(
        PREFERENCES,
        pairs,
        Marks(answers.chose_video_1[kept], everything),
        external.pair_id,
        external.source,
        external.choices,
        external.sources,
    )
    # A pair's video is unit 2·pair + side.
    ours = [answers.video_0_harms[kept], answers.video_1_harms[kept]]
    ours_value = np.concatenate([np.column_stack([h.any(axis=1), h]) for h in ours])
    theirs = external.videos
    harms = majority_comparisons(
        VIDEO_FIELDS,
        np.concatenate([pairs * 2, pairs * 2 + 1]),
        Marks(ours_value, np.ones_like(ours_value)),
        np.concatenate([external.pair_id * 2, external.pair_id * 2 + 1]),
        np.concatenate([external.source, external.source]),
        Marks(
            np.concatenate([theirs[0].value, theirs[1].value]),
            np.concatenate([theirs[0].known, theirs[1].known]),
        ),
        external.sources,
    )
    return [
        PairwiseSource(
            source=p.source,
            pairs=p.labelled,
            preferences=p.fields,
            videos=h.labelled,
            harms=h.fields,
        )
        for p, h in zip(preferences, harms, strict=True)
    ]


def sources_data(sources: list[PairwiseSource]) -> list[dict]:
    return [dataclasses.asdict(s) for s in sources]


def sources_from_data(data: list[dict]) -> list[PairwiseSource]:
    return [
        PairwiseSource(
            **{
                **s,
                "preferences": [FieldComparison(**f) for f in s["preferences"]],
                "harms": [FieldComparison(**f) for f in s["harms"]],
            }
        )
        for s in data
    ]
