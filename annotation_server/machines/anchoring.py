"""How far a shown machine verdict pulls workers' answers towards it (no Django): for each
field (harmful, each category), the share of answers that agree with the machine's verdict
on items answered with the hint shown and on items answered without it, the difference, and
a 95 % bootstrap interval of the difference.

An answer agrees on `harmful` when it says what the verdict says, on a category when both
name it or both leave it out; a field is compared only when answer and verdict both decide
it. The bootstrap resamples items (an item's answers stay together: they share the item's
difficulty), within each side. As in agreement.py, a resample is drawn over the few kinds of
item there are (k of n answers agreeing, n ≤ the overlap) as a multinomial, so it costs
O(resamples × kinds) whatever the batch's size, seeded from the counts themselves: a page
shows the same interval every time."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .agreement import LEVEL, RESAMPLES, SEED

MIN_ANSWERS = 10  # per side, on `harmful` (or the first field): fewer is too little to say


@dataclass(frozen=True)
class Answer:
    pair_id: int
    shown: bool  # the worker was shown the hint
    harmful: bool | None
    categories: Sequence[str] | None


@dataclass(frozen=True)
class Side:
    agree: int
    answers: int
    items: int

    @property
    def rate(self) -> float | None:
        return self.agree / self.answers if self.answers else None


@dataclass(frozen=True)
class FieldAnchoring:
    field: str
    hinted: Side
    unhinted: Side
    interval: tuple[float, float] | None  # of the difference, at LEVEL

    @property
    def difference(self) -> float | None:
        if self.hinted.rate is None or self.unhinted.rate is None:
            return None
        return self.hinted.rate - self.unhinted.rate


def agreements(answer: Answer, verdict: dict, fields: Sequence[str]) -> dict[str, bool]:
    """Per field the answer and the verdict both decide: whether they agree."""
    found = {}
    if "harmful" in fields and answer.harmful is not None and verdict.get("harmful") is not None:
        found["harmful"] = answer.harmful == verdict["harmful"]
    theirs = verdict.get("categories")
    if answer.categories is not None and theirs is not None:
        for key in fields:
            if key != "harmful":
                found[key] = (key in answer.categories) == (key in theirs)
    return found


def anchoring(
    answers: Iterable[Answer], verdicts: dict[int, dict], fields: Sequence[str]
) -> list[FieldAnchoring]:
    """Each field's agreement with the machine, hinted against unhinted (answers on items
    without a verdict are left out)."""
    # (field, shown) → item → [agreeing, compared]
    tally: dict[tuple[str, bool], dict[int, list[int]]] = defaultdict(dict)
    for answer in answers:
        verdict = verdicts.get(answer.pair_id)
        if verdict is None:
            continue
        for field, agrees in agreements(answer, verdict, fields).items():
            cell = tally[field, answer.shown].setdefault(answer.pair_id, [0, 0])
            cell[0] += agrees
            cell[1] += 1
    result = []
    for field in fields:
        hinted, unhinted = tally.get((field, True), {}), tally.get((field, False), {})
        result.append(
            FieldAnchoring(
                field=field,
                hinted=_side(hinted),
                unhinted=_side(unhinted),
                interval=difference_interval(
                    Counter(map(tuple, hinted.values())), Counter(map(tuple, unhinted.values()))
                ),
            )
        )
    return result


def _side(items: dict[int, list[int]]) -> Side:
    return Side(
        agree=sum(a for a, _ in items.values()),
        answers=sum(n for _, n in items.values()),
        items=len(items),
    )


def difference_interval(
    hinted: Counter, unhinted: Counter, *, resamples: int = RESAMPLES, level: float = LEVEL
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of (hinted share agreeing − unhinted share agreeing).
    Each side is a Counter of item kinds (agreeing, compared) → items; None when a side has
    no item."""
    if not hinted or not unhinted:
        return None
    counts = [
        v
        for side in (hinted, unhinted)
        for kind in sorted(side.items())
        for v in (*kind[0], kind[1])
    ]
    rng = np.random.default_rng([SEED, *counts])
    rates = [_resampled_rates(rng, side, resamples) for side in (hinted, unhinted)]
    difference = rates[0] - rates[1]
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(difference, [tail, 100 - tail])
    return float(low), float(high)


def _resampled_rates(rng, side: Counter, resamples: int) -> np.ndarray:
    kinds = sorted(side)
    items = np.array([side[k] for k in kinds], dtype=float)
    agree = np.array([k[0] for k in kinds], dtype=float)
    compared = np.array([k[1] for k in kinds], dtype=float)
    draws = rng.multinomial(int(items.sum()), items / items.sum(), size=resamples)
    # Every item compares at least one answer, so a resample never divides by zero.
    return (draws @ agree) / (draws @ compared)
