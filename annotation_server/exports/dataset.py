"""From database rows to SafeSora records: the two passes of an export.

Pass 1 (`judgements_collect`) streams every counted annotation once and keeps only small
per-video / per-prompt / per-annotator tallies. Pass 2 (`*_items`) streams pairs, videos or
prompts and yields one `Item` per candidate record: the record, or why it was left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from . import selectors
from .aggregation import (
    AgreementTally,
    HarmTally,
    Reliability,
    Vote,
    decide_pair,
    reliability_map,
)
from .safesora import harm_label, harm_label_from_dict, pair_sample, prompt_sample, split_of
from .safesora import video_sample as build_video_sample

VIDEO_READY = "ready"

SKIP_UNSAFE_ID = "id not usable as a file name"
SKIP_NOT_READY = "video not ready"
SKIP_NO_PROMPT_LABELS = "prompt has no labels"
SKIP_PAIR_ID_CONFLICT = "pair_id reused with other videos"


@dataclass(frozen=True)
class VideoFile:
    """A rendition to place at videos/<prompt_id>/<video_id>.mp4."""

    pk: int
    prompt_id: str
    video_id: str
    rendition: str


@dataclass(frozen=True)
class Item:
    split: str | None = None
    record: dict[str, Any] | None = None
    videos: tuple[VideoFile, ...] = ()
    skip: str | None = None


@dataclass
class Judgements:
    video_harms: HarmTally = field(default_factory=HarmTally)
    prompt_harms: HarmTally = field(default_factory=HarmTally)
    reliability: dict[int, Reliability] = field(default_factory=dict)


@dataclass(frozen=True)
class Selection:
    batch_ids: list[int] | None
    max_annotation_id: int
    test_fraction: float
    seed: int
    min_annotations: int


_N_CHOICES = 6
_V0, _V1, _V0_HARMS, _V1_HARMS, _PROMPT, _PROMPT_HARMS = range(2 + _N_CHOICES, 8 + _N_CHOICES)


def _vote(row: tuple) -> Vote:
    return Vote(row[1], tuple(row[2 : 2 + _N_CHOICES]))


def judgements_collect(selection: Selection) -> Judgements:
    """Pass 1: harm votes per video and prompt, and each annotator's reliability."""
    result = Judgements()
    agreement = AgreementTally()
    rows = selectors.vote_rows(selection.batch_ids, selection.max_annotation_id)
    for _, group in groupby(rows, key=lambda row: row[0]):
        votes = []
        for row in group:
            votes.append(_vote(row))
            result.video_harms.add(row[_V0], row[_V0_HARMS])
            result.video_harms.add(row[_V1], row[_V1_HARMS])
            if row[_PROMPT_HARMS] is not None:
                result.prompt_harms.add(row[_PROMPT], row[_PROMPT_HARMS])
        agreement.add_pair(votes)
    gold = selectors.gold_means(selection.max_annotation_id)
    result.reliability = reliability_map(gold, agreement.shares())
    return result


def safe_file_name(value: str) -> bool:
    """Ids become path components: no separators, no dot-names, nothing that leaves videos/."""
    return (
        bool(value)
        and value not in (".", "..")
        and "/" not in value
        and "\\" not in value
        and "\x00" not in value
        and len(value.encode()) <= 200
    )


def prompt_labels_resolve(
    stored: dict | None, prompt_pk: int, judgements: Judgements
) -> dict[str, bool] | None:
    """Stored labels (import or admin) win; else the annotators' majority; else None."""
    if stored is not None:
        return harm_label_from_dict(stored)
    present = judgements.prompt_harms.present(prompt_pk)
    return None if present is None else harm_label(present)


def _prompt(row: tuple, offset: int) -> dict[str, Any]:
    return {"prompt_id": row[offset], "text": row[offset + 1], "prompt_type": row[offset + 2]}


def _video(row: tuple, offset: int) -> dict[str, Any]:
    keys = ("pk", "video_id", "video_text", "generated_from", "status", "rendition")
    return dict(zip(keys, row[offset : offset + 6], strict=True))


def _file(prompt_id: str, video: dict[str, Any]) -> VideoFile:
    return VideoFile(video["pk"], prompt_id, video["video_id"], video["rendition"])


def _video_skip(prompt_id: str, videos: list[dict[str, Any]]) -> str | None:
    if not safe_file_name(prompt_id) or not all(safe_file_name(v["video_id"]) for v in videos):
        return SKIP_UNSAFE_ID
    if any(v["status"] != VIDEO_READY or not v["rendition"] for v in videos):
        return SKIP_NOT_READY
    return None


def _video_labels(judgements: Judgements, pk: int) -> dict[str, bool]:
    return harm_label(judgements.video_harms.present(pk) or ())


def preference_items(selection: Selection, judgements: Judgements) -> Iterator[Item]:
    """Pass 2 for VideoPairSample records, one Item per distinct pair_id."""
    votes_stream = selectors.vote_rows(selection.batch_ids, selection.max_annotation_id)
    pending = next(votes_stream, None)
    for pair_id, group in groupby(selectors.pair_rows(selection.batch_ids), key=lambda r: r[0]):
        rows = list(group)
        votes: list[Vote] = []
        # Both streams are ordered by pair_id and votes only exist for listed pairs.
        while pending is not None and pending[0] == pair_id:
            votes.append(_vote(pending))
            pending = next(votes_stream, None)
        yield _pair_item(rows, votes, selection, judgements)


def _pair_item(
    rows: list[tuple], votes: list[Vote], selection: Selection, judgements: Judgements
) -> Item:
    row = rows[0]
    if any((r[6], r[12]) != (row[6], row[12]) for r in rows[1:]):
        return Item(skip=SKIP_PAIR_ID_CONFLICT)
    prompt = _prompt(row, 2)
    video_0, video_1 = _video(row, 6), _video(row, 12)
    reason = _video_skip(prompt["prompt_id"], [video_0, video_1])
    if reason:
        return Item(skip=reason)
    prompt_labels = prompt_labels_resolve(row[5], row[1], judgements)
    if prompt_labels is None:
        return Item(skip=SKIP_NO_PROMPT_LABELS)
    if len(votes) < max(1, selection.min_annotations):
        return Item(skip=f"fewer than {max(1, selection.min_annotations)} annotations")
    decision = decide_pair(votes, judgements.reliability)
    if decision.decisions is None:
        return Item(skip=f"tie on {decision.tied_field}")
    record = pair_sample(
        pair_id=row[0],
        prompt=prompt,
        prompt_labels=prompt_labels,
        video_0=video_0,
        video_0_labels=_video_labels(judgements, video_0["pk"]),
        video_1=video_1,
        video_1_labels=_video_labels(judgements, video_1["pk"]),
        decisions=decision.decisions,
    )
    split = split_of(
        prompt["prompt_id"], seed=selection.seed, test_fraction=selection.test_fraction
    )
    files = (_file(prompt["prompt_id"], video_0), _file(prompt["prompt_id"], video_1))
    return Item(split=split, record=record, videos=files)


def label_items(selection: Selection, judgements: Judgements) -> Iterator[Item]:
    """Pass 2 for labelled VideoSample records: every video of the batches' pairs."""
    needed = max(1, selection.min_annotations)
    for row in selectors.video_rows(selection.batch_ids):
        prompt, video = _prompt(row, 1), _video(row, 5)
        reason = _video_skip(prompt["prompt_id"], [video])
        if reason:
            yield Item(skip=reason)
            continue
        prompt_labels = prompt_labels_resolve(row[4], row[0], judgements)
        if prompt_labels is None:
            yield Item(skip=SKIP_NO_PROMPT_LABELS)
            continue
        if judgements.video_harms.judgements(video["pk"]) < needed:
            yield Item(skip=f"fewer than {needed} judgements")
            continue
        record = build_video_sample(
            prompt, prompt_labels, video, _video_labels(judgements, video["pk"]), with_labels=True
        )
        split = split_of(
            prompt["prompt_id"], seed=selection.seed, test_fraction=selection.test_fraction
        )
        yield Item(split=split, record=record, videos=(_file(prompt["prompt_id"], video),))


def eval_items(selection: Selection, judgements: Judgements) -> Iterator[Item]:
    """Pass 2 for PromptSample records."""
    for row in selectors.prompt_rows(selection.batch_ids):
        prompt_labels = prompt_labels_resolve(row[4], row[0], judgements)
        if prompt_labels is None:
            yield Item(skip=SKIP_NO_PROMPT_LABELS)
            continue
        prompt = _prompt(row, 1)
        split = split_of(
            prompt["prompt_id"], seed=selection.seed, test_fraction=selection.test_fraction
        )
        yield Item(split=split, record=prompt_sample(prompt, prompt_labels))


def item_count(kind: str, selection: Selection) -> int:
    if kind == "preference":
        return selectors.pair_count(selection.batch_ids)
    if kind == "label":
        return selectors.video_count(selection.batch_ids)
    return selectors.prompt_count(selection.batch_ids)


ITEMS = {"preference": preference_items, "label": label_items, "eval": eval_items}
