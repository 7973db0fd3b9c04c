"""From database rows to SafeSora records: the two passes of an export.

Pass 1 (`judgements_collect`) streams every counted annotation once and keeps only small
tallies: harm votes per video and prompt, agreement per annotator, and each pair's packed
majority (an int; votes are kept only for tied pairs, decided once reliability is known).
Pass 2 (`*_items`) streams pairs, videos or
prompts and yields one `Item` per candidate record: the record, or why it was left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import Any

from annotation_server.taxonomy import HARM_KEYS

from . import selectors
from .aggregation import (
    AgreementTally,
    HarmTally,
    PairDecision,
    Reliability,
    SafetyTally,
    Vote,
    decide_pair,
    decisions_from_bits,
    external_choices,
    majority_bits,
    reliability_map,
    zero_counts,
)
from .counted import counted_rows
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
    # is_safe of videos no judgement labelled (counted external answers that only say it)
    video_safety: SafetyTally = field(default_factory=SafetyTally)
    reliability: dict[int, Reliability] = field(default_factory=dict)
    # pair_id → annotation count * 128 + majority bits (or _TIED): pass 2 then needs no
    # second read of the annotations. Votes are kept only for the rare tied pairs.
    pair_outcomes: dict[str, int] = field(default_factory=dict)
    tied_votes: dict[str, list[Vote]] = field(default_factory=dict)

    def pair_decision(self, pair_id: str) -> tuple[int, PairDecision | None]:
        """(number of counted annotations, decision or None when there are none)."""
        code = self.pair_outcomes.get(pair_id)
        if code is None:
            return 0, None
        count, bits = divmod(code, 128)
        if bits == _TIED:
            return count, decide_pair(self.tied_votes[pair_id], self.reliability)
        return count, PairDecision(decisions_from_bits(bits))

    def video_is_safe(self, pk: int) -> bool | None:
        """is_safe when only safe/unsafe answers judged the video; None: its labels decide."""
        if self.video_harms.judgements(pk):
            return None
        return self.video_safety.is_safe(pk)


_TIED = 64


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
    return Vote(row[1], row[2 : 2 + _N_CHOICES])


_HARMS_BY_TEXT: dict[str, list[str]] = {"[]": []}


def _harms(text: str) -> list[str]:
    """Decoded harm list; few distinct lists exist, so each text is decoded once."""
    harms = _HARMS_BY_TEXT.get(text)
    if harms is None:
        if len(_HARMS_BY_TEXT) > 10_000:
            _HARMS_BY_TEXT.clear()
            _HARMS_BY_TEXT["[]"] = []
        harms = _HARMS_BY_TEXT[text] = json.loads(text)
    return harms


def judgements_collect(selection: Selection) -> Judgements:
    """Pass 1: harm votes per video and prompt, and each annotator's reliability. Counted
    external answers (exports/counted.py) vote beside our workers' (negative voter ids:
    they have no gold or agreement of their own to break ties with)."""
    result = Judgements()
    agreement = AgreementTally()
    external = _external_votes(selection, result)
    rows = selectors.judgement_rows(selection.batch_ids, selection.max_annotation_id)
    for pair_id, group in groupby(rows, key=itemgetter(0)):
        votes = []
        for row in group:
            votes.append(_vote(row))
            result.video_harms.add(row[_V0], _harms(row[_V0_HARMS]))
            result.video_harms.add(row[_V1], _harms(row[_V1_HARMS]))
            if row[_PROMPT_HARMS] not in (None, "null"):  # null: the batch did not ask
                result.prompt_harms.add(row[_PROMPT], _harms(row[_PROMPT_HARMS]))
        _pair_outcome(result, agreement, pair_id, votes + external.pop(pair_id, []))
    for pair_id, votes in external.items():  # pairs only counted sources answered
        _pair_outcome(result, agreement, pair_id, votes)
    gold = selectors.gold_means(selection.max_annotation_id)
    result.reliability = reliability_map(gold, agreement.shares())
    return result


def _pair_outcome(result: Judgements, agreement: AgreementTally, pair_id: str, votes) -> None:
    if not votes:
        return
    zeros = zero_counts(votes)
    agreement.add_pair(votes, zeros)
    bits = majority_bits(votes, zeros)
    if bits is None:
        result.tied_votes[pair_id] = votes
        bits = _TIED
    result.pair_outcomes[pair_id] = len(votes) * 128 + bits


_KNOWN_HARMS = frozenset(HARM_KEYS)


def _external_votes(selection: Selection, result: Judgements) -> dict[str, list[Vote]]:
    """pair_id → the counted external answers' votes; their harm and safety votes go
    straight into `result`."""
    votes: dict[str, list[Vote]] = {}
    columns = ("pair__video_0_id", "pair__video_1_id", "answer")
    for pk, pair_id, video_0, video_1, answer in counted_rows(selection.batch_ids, *columns):
        if not isinstance(answer, dict):
            continue
        choices = external_choices(answer)
        if choices is not None:
            votes.setdefault(pair_id, []).append(Vote(-pk, choices))
        for side, video in (("video_0", video_0), ("video_1", video_1)):
            harms, is_safe = answer.get(f"{side}_harms"), answer.get(f"{side}_is_safe")
            if video is None:
                continue
            if isinstance(harms, list):
                result.video_harms.add(video, [k for k in harms if k in _KNOWN_HARMS])
            elif isinstance(is_safe, bool):
                result.video_safety.add(video, not is_safe)
    return votes


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


_LABELS_BY_TEXT: dict[str, dict[str, bool]] = {}


def prompt_labels_resolve(
    stored: str | None, prompt_pk: int, judgements: Judgements
) -> dict[str, bool] | None:
    """Stored labels (import or admin; JSON text) win; else the annotators' majority; else
    None. The returned dict may be shared: read it, don't change it."""
    if stored is not None and stored != "null":
        label = _LABELS_BY_TEXT.get(stored)
        if label is None:
            if len(_LABELS_BY_TEXT) > 10_000:
                _LABELS_BY_TEXT.clear()
            label = _LABELS_BY_TEXT[stored] = harm_label_from_dict(json.loads(stored))
        return label
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


_LABELS_BY_PRESENT: dict[tuple[str, ...], dict[str, bool]] = {}


def _video_labels(judgements: Judgements, pk: int) -> dict[str, bool]:
    """The video's HarmLabel (shared between records: builders copy, never change it)."""
    present = tuple(judgements.video_harms.present(pk) or ())
    label = _LABELS_BY_PRESENT.get(present)
    if label is None:
        label = _LABELS_BY_PRESENT[present] = harm_label(present)  # ≤ 4096 distinct
    return label


def preference_items(selection: Selection, judgements: Judgements) -> Iterator[Item]:
    """Pass 2 for VideoPairSample records, one Item per distinct pair_id (pairs sharing a
    pair_id across batches are one comparison: their votes were pooled in pass 1)."""
    for _, group in groupby(selectors.pair_rows(selection.batch_ids), key=itemgetter(0)):
        yield _pair_item(list(group), selection, judgements)


def _pair_item(rows: list[tuple], selection: Selection, judgements: Judgements) -> Item:
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
    count, decision = judgements.pair_decision(row[0])
    if decision is None or count < max(1, selection.min_annotations):
        return Item(skip=f"fewer than {max(1, selection.min_annotations)} annotations")
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
        safe=(judgements.video_is_safe(video_0["pk"]), judgements.video_is_safe(video_1["pk"])),
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
