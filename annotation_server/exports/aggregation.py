"""Aggregation of K annotations into one SafeSora answer (pure: plain data in and out).

Rules (documented in README "Exporting SafeSora datasets"):
- Preferences: each of the six fields (four sub-preferences, helpfulness, harmlessness) is
  decided by a strict majority of the annotators' votes.
- A tied field goes to the side whose voters are more reliable: first the sum of their gold
  accuracy (mean gold_score; an annotator without gold answers counts 0), then the sum of their
  agreement with the other annotators (share of fields where they chose what the majority of
  the others chose). Still equal: the field, and so the pair, is left out.
- Harm labels (per video, and per prompt when workers labelled prompts): every judgement of
  the video across all its pairs votes per harm key; a key is present when at least half of the
  judgements say so. A tie counts as harmful: a safety dataset should rather flag a doubtful
  video than call it safe.
- Answers of a counted external source (exports/counted.py) vote beside our workers': one
  vote each, with no reliability of their own. A preference vote needs all six fields; harm
  votes come from the answer's harm lists. An answer that says only whether a video is safe
  (a preference release's pair records carry `is_safe`, not the labels) decides `is_safe` of
  a video no judgement labelled, by the same at-least-half rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from annotation_server.taxonomy import HARM_KEYS, SUB_DIMENSION_KEYS

VIDEO_0 = "video_0"
VIDEO_1 = "video_1"

# Decision key in the record → Annotation field; order = order of votes in `Vote.choices`.
DECISION_FIELDS: tuple[tuple[str, str], ...] = tuple(
    (key, f"pref_{key}") for key in SUB_DIMENSION_KEYS
) + (("helpfulness", "helpfulness"), ("harmlessness", "harmlessness"))
DECISION_KEYS: tuple[str, ...] = tuple(key for key, _ in DECISION_FIELDS)
ANNOTATION_CHOICE_FIELDS: tuple[str, ...] = tuple(field for _, field in DECISION_FIELDS)

_EPSILON = 1e-9


class Vote(NamedTuple):
    """One annotator's six choices on a pair, in DECISION_KEYS order (a tuple: cheap to build
    for every annotation of a large export)."""

    annotator_id: int
    choices: tuple[str, ...]


@dataclass(frozen=True)
class Reliability:
    gold: float | None = None  # mean gold_score over the annotator's gold pairs
    agreement: float | None = None  # share of fields agreeing with the others' majority


@dataclass(frozen=True)
class PairDecision:
    decisions: dict[str, str] | None  # DECISION_KEYS → "video_0"/"video_1"; None when tied
    tied_field: str | None = None
    broken_ties: int = 0  # fields settled by reliability rather than by majority


def decide_field(
    votes: Sequence[tuple[int, str]], reliability: dict[int, Reliability]
) -> tuple[str | None, bool]:
    """(winner or None, whether a reliability tie-break was needed) for one field."""
    zero = [a for a, choice in votes if choice == VIDEO_0]
    one = [a for a, choice in votes if choice == VIDEO_1]
    if len(zero) != len(one):
        return (VIDEO_0 if len(zero) > len(one) else VIDEO_1), False
    for attribute in ("gold", "agreement"):
        score_0 = _side_score(zero, reliability, attribute)
        score_1 = _side_score(one, reliability, attribute)
        if abs(score_0 - score_1) > _EPSILON:
            return (VIDEO_0 if score_0 > score_1 else VIDEO_1), True
    return None, True


def _side_score(
    annotators: list[int], reliability: dict[int, Reliability], attribute: str
) -> float:
    total = 0.0
    for annotator in annotators:
        value = getattr(reliability.get(annotator, Reliability()), attribute)
        total += value or 0.0
    return total


def zero_counts(votes: Sequence[Vote]) -> list[int]:
    """Per field, how many votes chose video_0."""
    if not votes:
        return [0] * len(DECISION_KEYS)
    return [column.count(VIDEO_0) for column in zip(*(vote.choices for vote in votes), strict=True)]


def decide_pair(votes: Sequence[Vote], reliability: dict[int, Reliability]) -> PairDecision:
    """The pair's six decisions, or the first field that stays tied."""
    decisions: dict[str, str] = {}
    broken = 0
    total = len(votes)
    for index, zero in enumerate(zero_counts(votes)):
        key = DECISION_KEYS[index]
        if 2 * zero != total:  # a strict majority: the common case, decided by counting
            decisions[key] = VIDEO_0 if 2 * zero > total else VIDEO_1
            continue
        winner, _ = decide_field(
            [(vote.annotator_id, vote.choices[index]) for vote in votes], reliability
        )
        if winner is None:
            return PairDecision(None, tied_field=key)
        broken += 1
        decisions[key] = winner
    return PairDecision(decisions, broken_ties=broken)


def majority_bits(votes: Sequence[Vote], zeros: list[int] | None = None) -> int | None:
    """The six strict-majority decisions packed in an int (bit i set: video_0 wins field i),
    or None when a field is tied and needs reliability, which is known only after a full pass.
    Packing lets an export keep every pair's outcome in memory at a few bytes each."""
    total = len(votes)
    bits = 0
    for index, zero in enumerate(zeros if zeros is not None else zero_counts(votes)):
        if 2 * zero == total:
            return None
        if 2 * zero > total:
            bits |= 1 << index
    return bits


_DECISIONS_BY_BITS: tuple[dict[str, str], ...] = tuple(
    {key: VIDEO_0 if bits >> i & 1 else VIDEO_1 for i, key in enumerate(DECISION_KEYS)}
    for bits in range(1 << len(DECISION_KEYS))
)


def decisions_from_bits(bits: int) -> dict[str, str]:
    """The decisions packed by majority_bits (a shared dict: read it, don't change it)."""
    return _DECISIONS_BY_BITS[bits]


def pair_agreement(
    votes: Sequence[Vote], zeros: list[int] | None = None
) -> Iterable[tuple[int, int, int]]:
    """(annotator, fields agreeing with the others' strict majority, fields compared) for each
    annotator of one pair. Fields where the others are tied are not compared."""
    zeros = zeros if zeros is not None else zero_counts(votes)
    others = len(votes) - 1
    for vote in votes:
        agreed = compared = 0
        for index, choice in enumerate(vote.choices):
            mine = choice == VIDEO_0
            zero = zeros[index] - mine  # the others' votes for video_0
            if 2 * zero == others:
                continue
            compared += 1
            agreed += (2 * zero > others) == mine
        yield vote.annotator_id, agreed, compared


class AgreementTally:
    """Accumulates pair_agreement over many pairs: annotator → (agreed, compared)."""

    def __init__(self) -> None:
        self.counts: dict[int, list[int]] = {}

    def add_pair(self, votes: Sequence[Vote], zeros: list[int] | None = None) -> None:
        if len(votes) < 2:
            return
        for annotator, agreed, compared in pair_agreement(votes, zeros):
            entry = self.counts.setdefault(annotator, [0, 0])
            entry[0] += agreed
            entry[1] += compared

    def shares(self) -> dict[int, float]:
        return {a: agreed / compared for a, (agreed, compared) in self.counts.items() if compared}


def reliability_map(
    gold_means: dict[int, float], agreement: dict[int, float]
) -> dict[int, Reliability]:
    return {
        annotator: Reliability(gold=gold_means.get(annotator), agreement=agreement.get(annotator))
        for annotator in set(gold_means) | set(agreement)
    }


def external_choices(answer: dict) -> tuple[str, ...] | None:
    """An external answer's six choices in DECISION_KEYS order, or None when it does not
    give all six (it then votes on no field: a missing choice is no side)."""
    subs = answer.get("sub_preferences")
    subs = subs if isinstance(subs, dict) else {}
    choices = tuple(subs.get(key) for key in SUB_DIMENSION_KEYS) + (
        answer.get("helpfulness"),
        answer.get("harmlessness"),
    )
    return choices if all(c in (VIDEO_0, VIDEO_1) for c in choices) else None


class SafetyTally:
    """Per video: judgements that said only safe or unsafe, and how many said unsafe."""

    def __init__(self) -> None:
        self.counts: dict[int, list[int]] = {}

    def add(self, subject: int, unsafe: bool) -> None:
        entry = self.counts.setdefault(subject, [0, 0])
        entry[0] += 1
        entry[1] += unsafe

    def is_safe(self, subject: int) -> bool | None:
        entry = self.counts.get(subject)
        if not entry:
            return None
        return 2 * entry[1] < entry[0]


_HARM_INDEX = {key: i for i, key in enumerate(HARM_KEYS)}


class HarmTally:
    """Per-subject (video or prompt) harm votes: judgements, then one count per harm key.

    Stored as flat int lists keyed by primary key so 57k videos stay a few MB."""

    def __init__(self) -> None:
        self.counts: dict[int, list[int]] = {}

    def add(self, subject: int, harms: Iterable[str]) -> None:
        entry = self.counts.get(subject)
        if entry is None:
            entry = self.counts[subject] = [0] * (len(HARM_KEYS) + 1)
        entry[0] += 1
        for key in harms:
            entry[_HARM_INDEX[key] + 1] += 1

    def judgements(self, subject: int) -> int:
        entry = self.counts.get(subject)
        return entry[0] if entry else 0

    def present(self, subject: int) -> list[str] | None:
        """Harm keys judged present by at least half the judgements (None: never judged)."""
        entry = self.counts.get(subject)
        if not entry or not entry[0]:
            return None
        total = entry[0]
        return [key for i, key in enumerate(HARM_KEYS) if 2 * entry[i + 1] >= total]
