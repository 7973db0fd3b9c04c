"""Which sources of external answers count as answers of a batch (`Batch.counted_sources`).

A counted source stands in for some of the judgements a pair needs: each pair is credited
(batches/credits.py) with min(overlap, the counted sources' answers on it), so a pair a
release already judged K times is not handed out again, and the exports count those answers
beside our workers'. Uncounting takes the credits back; the answers themselves are never
touched. Machine verdicts (`machine:<name>`) are not counted this way: routing by machines
is its own feature (machines/routing.py) with its own audit share.

Counting a source's answers needs ExternalAnnotation, which lives above this layer; the
exports app registers the counter in its AppConfig.ready (`answer_counter_register`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from django.db import transaction

from annotation_server.batches.credits import pair_credits_set
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError

MACHINE_PREFIX = "machine:"

# (batch, sources) → {pair pk: external answers of those sources on the pair}; sources
# without an answer in the batch are absent from `known_sources`.
AnswerCounter = Callable[[Batch, Sequence[str]], dict[int, int]]
SourceLister = Callable[[Batch], list[str]]
_counters: list[tuple[AnswerCounter, SourceLister]] = []


def answer_counter_register(counter: AnswerCounter, sources: SourceLister) -> None:
    if (counter, sources) not in _counters:
        _counters.append((counter, sources))


def _counter() -> tuple[AnswerCounter, SourceLister]:
    if not _counters:
        raise ApplicationError(
            "No counter of external answers is registered (the exports app registers it at "
            "start-up); nothing was changed.",
            code="count_unavailable",
        )
    return _counters[0]


def batch_sources(batch: Batch) -> list[str]:
    """The sources of `batch`'s external answers that may count (machines' left out)."""
    return [s for s in _counter()[1](batch) if not s.startswith(MACHINE_PREFIX)]


def source_count_check(batch: Batch, source: str) -> None:
    """Refuse, with a message an admin can act on, a source that cannot count for `batch`."""
    if source.startswith(MACHINE_PREFIX):
        raise ApplicationError(
            f"{source!r} is a machine annotator: machine verdicts do not count as answers "
            "through --count-source; routing by machines decides which items they settle.",
            code="count_machine",
        )
    if not batch.counted_sources and Pair.objects.filter(batch=batch, credited__gt=0).exists():
        # Credits with nothing counted come from routing (machines settled those items):
        # recounting would give them back to humans. Routing refuses the other way round.
        raise ApplicationError(
            f"Batch {batch.name!r} is routed by machine annotators (its settled items are "
            "credited): a source cannot count as well; nothing was changed.",
            code="count_routed",
        )
    known = _counter()[1](batch)
    if source not in known:
        shown = ", ".join(sorted(s for s in known if not s.startswith(MACHINE_PREFIX)))
        raise ApplicationError(
            f"Batch {batch.name!r} has no external answers of source {source!r}"
            f" (its sources: {shown or 'none'}); nothing was changed.",
            code="count_unknown_source",
        )


def batch_credits_refresh(batch: Batch) -> dict[str, int]:
    """Credit every pair of `batch` with min(overlap, its counted sources' answers) (0 for
    a pair without any, or when nothing counts). {"credited_pairs", "credited_judgements"}."""
    counts = _counter()[0](batch, list(batch.counted_sources)) if batch.counted_sources else {}
    credits = {pk: min(batch.overlap, n) for pk, n in counts.items()}
    # Pairs credited before whose answers no longer count go back to 0.
    for pk in Pair.objects.filter(batch=batch, credited__gt=0).values_list("pk", flat=True):
        credits.setdefault(pk, 0)
    pair_credits_set(batch, credits)
    given = [n for n in credits.values() if n]
    return {"credited_pairs": len(given), "credited_judgements": sum(given)}


def batch_source_count(*, batch: Batch, source: str, actor=None) -> dict[str, int]:
    """Make `source` count for `batch` and credit its pairs; audited. Counting a source
    already counted only refreshes the credits."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        source_count_check(batch, source)
        if source not in batch.counted_sources:
            batch.counted_sources = [*batch.counted_sources, source]
            batch.save(update_fields=["counted_sources"])
        result = batch_credits_refresh(batch)
        audit_record(
            actor=actor, verb="batch.count_source", target=batch, batch=batch,
            details={"source": source, **result},
        )  # fmt: skip
    return result


def batch_source_uncount(*, batch: Batch, source: str, actor=None) -> dict[str, int]:
    """Stop `source` counting for `batch`: the credits it gave go back (answers stay)."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if source not in batch.counted_sources:
            counted = ", ".join(batch.counted_sources) or "none"
            raise ApplicationError(
                f"Source {source!r} does not count for batch {batch.name!r} "
                f"(counted: {counted}); nothing was changed.",
                code="count_not_counted",
            )
        batch.counted_sources = [s for s in batch.counted_sources if s != source]
        batch.save(update_fields=["counted_sources"])
        result = batch_credits_refresh(batch)
        audit_record(
            actor=actor, verb="batch.uncount_source", target=batch, batch=batch,
            details={"source": source, **result},
        )  # fmt: skip
    return result


def batch_counted_sources_set(*, batch: Batch, sources: Sequence[str], actor=None) -> dict:
    """Set the whole list at once (the batch admin's field): each new source checked as by
    batch_source_count, credits refreshed."""
    with transaction.atomic():
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        wanted = list(dict.fromkeys(s.strip() for s in sources if s.strip()))
        for source in wanted:
            if source not in batch.counted_sources:
                source_count_check(batch, source)
        before = list(batch.counted_sources)
        batch.counted_sources = wanted
        batch.save(update_fields=["counted_sources"])
        result = batch_credits_refresh(batch)
        audit_record(
            actor=actor, verb="batch.counted_sources", target=batch, batch=batch,
            details={"before": before, "after": wanted, **result},
        )  # fmt: skip
    return result
