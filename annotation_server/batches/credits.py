"""Judgements credited to pairs from elsewhere: a counted external source, or machine
annotators that settled an item (machines/routing.py).

A credit is part of `Pair.taken`, the count every claim rule reads (`taken < overlap`), so a
credited pair is handed out only for what it still lacks, and nothing in the claim changes.
Setting a credit replaces the previous one in the same statement (`taken - credited + n`),
under the row locks the UPDATE takes, so it is safe beside claims and expiries of the same
pairs. Gold pairs are never credited: they never count towards `taken`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from django.db import transaction
from django.db.models import F

from annotation_server.batches.models import Batch, Pair

# SQLite refuses more than 32,766 parameters in one statement (the embedded default).
_CHUNK = 5000


@transaction.atomic
def pair_credits_set(batch: Batch, credits: Mapping[int, int]) -> int:
    """Give each pair of `batch` (by primary key) the credit `credits[pk]`, clamped to
    0…overlap; returns how many pairs changed. Pairs of other batches and gold pairs are left
    alone. One UPDATE per distinct credit value (a handful: 0…overlap)."""
    by_value: dict[int, list[int]] = defaultdict(list)
    for pk, n in credits.items():
        by_value[max(0, min(int(n), batch.overlap))].append(pk)
    changed = 0
    for value, pks in sorted(by_value.items()):
        for start in range(0, len(pks), _CHUNK):
            changed += (
                Pair.objects.filter(batch=batch, is_gold=False, pk__in=pks[start : start + _CHUNK])
                .exclude(credited=value)
                .update(taken=F("taken") - F("credited") + value, credited=value)
            )
    return changed


def batch_credits_clear(batch: Batch) -> int:
    """Take every credit of `batch` back (answers are never touched)."""
    return Pair.objects.filter(batch=batch, credited__gt=0).update(
        taken=F("taken") - F("credited"), credited=0
    )
