"""Where one item goes, from its machine verdicts (no Django): the reason and, when the
machines agree, their common verdict; and the audit draw.

Reasons, the first that applies: `missing` (a deciding version has no verdict on the item),
`unsure` (a verdict is unparseable, or marked unsure by its annotator), `disagree` (the
versions' verdicts differ on a compared field), then `audit` (they agree and the item is drawn
for the audit share) or `agree` (settled by the machines)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

AGREE, DISAGREE, UNSURE, MISSING, AUDIT = "agree", "disagree", "unsure", "missing", "audit"
REASONS = (AGREE, AUDIT, DISAGREE, UNSURE, MISSING)


@dataclass(frozen=True)
class Rules:
    ask_harmful: bool
    ask_categories: bool
    categories_must_agree: bool = False
    flagged_unsure: bool = True

    @property
    def fields(self) -> tuple[str, ...]:
        """The answer's fields the versions must agree on. Categories count when asked to
        agree, or when they are the batch's only question."""
        fields = ("harmful",) if self.ask_harmful else ()
        if self.ask_categories and (self.categories_must_agree or not self.ask_harmful):
            fields += ("categories",)
        return fields


@dataclass(frozen=True)
class MachineVerdict:
    """One version's verdict on one item: its answer and the two details routing reads."""

    answer: Mapping
    status: str | None = None  # details.status: "ok" | "unparseable"
    unsure: bool = False  # details.unsure


def audit_draw(seed: int, item: int) -> float:
    """A number in [0, 1) fixed by (seed, item): an item is audited when it is below the
    share, so routing again draws the same items and a larger share adds items to a smaller
    one's set."""
    digest = hashlib.blake2b(f"{seed}:{item}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _compared(answer: Mapping, fields: Sequence[str]) -> dict | None:
    """The compared fields in a canonical form, or None when one of them is undecided."""
    out = {}
    for field in fields:
        value = answer.get(field)
        if value is None:
            return None
        out[field] = sorted(value) if field == "categories" else bool(value)
    return out


def decide(
    verdicts: Sequence[MachineVerdict | None], rules: Rules, *, drawn: bool
) -> tuple[str, dict | None]:
    """(reason, common verdict) for one item, given each deciding version's verdict (None:
    that version has none) and whether the audit draw picked the item."""
    if not verdicts or any(v is None for v in verdicts):
        return MISSING, None
    fields = rules.fields
    compared = []
    for verdict in verdicts:
        value = _compared(verdict.answer, fields) if verdict.status != "unparseable" else None
        if value is None or (rules.flagged_unsure and verdict.unsure):
            return UNSURE, None
        compared.append(value)
    if any(value != compared[0] for value in compared[1:]):
        return DISAGREE, None
    return (AUDIT if drawn else AGREE), compared[0]


def human_majority(answers: Sequence[Mapping], fields: Sequence[str]) -> dict | None:
    """The strict majority of kept human answers on the compared fields (a category is in it
    when more than half of the answers naming categories name it); None on a tie or when a
    field has no answer."""
    out: dict = {}
    for field in fields:
        given = [a[field] for a in answers if a.get(field) is not None]
        if not given:
            return None
        if field == "harmful":
            yes = sum(1 for value in given if value)
            if yes * 2 == len(given):
                return None
            out[field] = yes * 2 > len(given)
        else:
            named = sorted({key for value in given for key in value})
            out[field] = [k for k in named if sum(k in v for v in given) * 2 > len(given)]
    return out
