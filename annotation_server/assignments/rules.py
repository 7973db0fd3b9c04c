"""The rules of task distribution that several services read, each written once.

Plain functions of model values (no queries): when an assignment expires, whether a pair asks
for the prompt's harm labels, how many assignments a worker may hold open, and which of
them a claim resumes or which slot a new claim opens.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass

from annotation_server.core.exceptions import ConflictError

# A worker holds at most this many open assignments: the current one and one prefetched.
MAX_OPEN_PER_ANNOTATOR = 2
SLOTS = frozenset(range(MAX_OPEN_PER_ANNOTATOR))

_rng = random.SystemRandom()


def expires_at(*, batch, claimed_at: dt.datetime) -> dt.datetime:
    """When an assignment of `batch` claimed at `claimed_at` gives its slot back."""
    return claimed_at + dt.timedelta(minutes=batch.assignment_expiry_minutes)


def asks_prompt_labels(*, batch, prompt) -> bool:
    """The batch wants the prompt's harm labels and nobody supplied them with the dataset."""
    return batch.label_prompts and prompt is not None and prompt.prompt_labels is None


def left_is_video_0() -> bool:
    """The display order of a new assignment: which video the worker sees on the left."""
    return _rng.random() < 0.5


def draws_gold(*, batch, draw: float) -> bool:
    """Whether a claim in `batch` serves a gold pair, for a uniform `draw` in [0, 1)."""
    return batch.gold_rate > 0 and draw < batch.gold_rate


def gold_draw() -> float:
    return _rng.random()


@dataclass(frozen=True)
class OpenChoice:
    """What a claim does with the worker's open assignments: resume one (`resume` is its
    id) or open a new one in `slot`."""

    resume: object = None
    slot: int | None = None


def open_choice(rows: Sequence, *, batch_name: str | None, prefetch: bool) -> OpenChoice:
    """Resume or claim, from the worker's open assignments (oldest first; each with `id`,
    `slot`, `batch_name` and `live`: False once past its expiry but not yet closed).

    Without `prefetch` the oldest live one (of `batch_name`, when given) is resumed, so a
    reload shows the same pair. With `prefetch` the worker wants a second pair to preload:
    their second live one is returned, or a new one claimed. Never more than
    MAX_OPEN_PER_ANNOTATOR open at once; a stale one still holds its slot until it is closed.
    """
    live = [row for row in rows if row.live]
    mine = [row.id for row in live if batch_name is None or row.batch_name == batch_name]
    if mine and not prefetch:
        return OpenChoice(resume=mine[0])
    if prefetch and len(mine) >= MAX_OPEN_PER_ANNOTATOR:
        return OpenChoice(resume=mine[1])
    if len(live) >= MAX_OPEN_PER_ANNOTATOR:
        if mine:
            return OpenChoice(resume=mine[-1])
        raise ConflictError(
            "You already have two open assignments in other batches; submit or skip one first.",
            code="too_many_open",
        )
    free = SLOTS - {row.slot for row in rows}
    if not free:  # a stale assignment that another request is closing right now
        raise ConflictError(
            "Your previous assignment is still being closed; please try again.",
            code="claim_contention",
        )
    return OpenChoice(slot=min(free))


def choose(candidates: Sequence):
    """One of `candidates` at random (None when there are none): which gold pair to serve."""
    return _rng.choice(candidates) if candidates else None
