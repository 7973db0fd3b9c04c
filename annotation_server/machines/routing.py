"""Routing a classification batch: machines first, humans where the deciding machine
annotator versions disagree, are unsure, have no verdict, or where the audit draw sends the
item (machines/routing_rules.py decides each item).

A settled item is credited with the batch's overlap (batches/credits.py), so the claim never
hands it out; every other item gets no credit. Items humans have already claimed or answered
stay with them: they are never settled, whatever the machines say (`started`). Gold items are
never routed. Routing again (after more verdicts, another share or other versions) decides
every item anew with the same audit draw; the routing row is locked meanwhile, so two
routings of one batch run one after the other."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count
from django.db.models.fields.json import KT
from django.utils import timezone

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches.credits import pair_credits_set
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.exceptions import ApplicationError

from .routing_models import BatchRouting, RoutingDecision
from .routing_rules import AUDIT, REASONS, MachineVerdict, Rules, audit_draw, decide, human_majority

_BULK = 1000


@dataclass
class RoutingOutcome:
    items: int = 0
    gold: int = 0
    settled: int = 0
    to_humans: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    started: int = 0  # machines agree, but humans had started on the item: it stays theirs
    saved: int = 0  # human judgements the settled items need no more (settled × overlap)
    credits_changed: int = 0
    dry_run: bool = False

    def counts(self) -> dict:
        return {
            "items": self.items, "gold": self.gold, "settled": self.settled,
            "to_humans": self.to_humans, "started": self.started, "saved": self.saved,
        }  # fmt: skip


def batch_routing_set(
    batch: Batch,
    *,
    annotators=None,
    audit_share: float | None = None,
    flagged_unsure: bool | None = None,
    categories_must_agree: bool | None = None,
) -> BatchRouting:
    """The batch's routing, created or changed (arguments left None keep their value)."""
    if batch.kind != Batch.Kind.CLASSIFICATION or batch.taxonomy_id is None:
        raise ApplicationError(
            f"Batch {batch.name!r} is not a classification batch: only those route."
        )
    if audit_share is not None and not 0 <= audit_share <= 1:
        raise ApplicationError(f"The audit share is a share between 0 and 1, not {audit_share}.")
    with transaction.atomic():
        routing, _ = BatchRouting.objects.select_for_update().get_or_create(batch=batch)
        for name, value in (
            ("audit_share", audit_share),
            ("flagged_unsure", flagged_unsure),
            ("categories_must_agree", categories_must_agree),
        ):
            if value is not None:
                setattr(routing, name, value)
        routing.save()
        if annotators is not None:
            routing.annotators.set(annotators)
    return routing


def route_batch(batch: Batch, *, dry_run: bool = False, by: str = "") -> RoutingOutcome:
    """Decide every regular item of the batch and set its credit; with `dry_run`, only say
    what routing would do (nothing is written)."""
    if batch.counted_sources:
        raise ApplicationError(
            f"Batch {batch.name!r} counts external sources' answers "
            f"({', '.join(batch.counted_sources)}), which credit its items too: routing "
            "would overwrite those credits."
        )
    with transaction.atomic():
        routing = BatchRouting.objects.select_for_update().filter(batch=batch).first()
        if routing is None:
            raise ApplicationError(
                f"Batch {batch.name!r} has no routing: choose its deciding versions first."
            )
        versions = list(routing.annotators.order_by("name", "version"))
        if not versions:
            raise ApplicationError(
                f"The routing of {batch.name!r} names no machine annotator version."
            )
        outcome, decisions = _decide_all(batch, routing, versions, dry_run=dry_run)
        if dry_run:
            transaction.set_rollback(True)
            return outcome
        credits = {d.pair_id: d.credited for d in decisions}
        outcome.credits_changed = pair_credits_set(batch, credits)
        RoutingDecision.objects.filter(pair__batch=batch, pair__is_gold=True).delete()
        RoutingDecision.objects.bulk_create(
            decisions,
            batch_size=_BULK,
            update_conflicts=True,
            unique_fields=["pair"],
            update_fields=[
                "routing",
                "to_humans",
                "reason",
                "started",
                "verdict",
                "credited",
                "decided_at",
            ],
        )
        routing.routed_at, routing.routed_by = timezone.now(), by
        routing.last_counts = outcome.counts()
        routing.save(update_fields=["routed_at", "routed_by", "last_counts"])
    return outcome


def _decide_all(batch, routing, versions, *, dry_run: bool):
    rules = Rules(
        ask_harmful=batch.ask_harmful,
        ask_categories=batch.ask_categories,
        categories_must_agree=routing.categories_must_agree,
        flagged_unsure=routing.flagged_unsure,
    )
    keys = [(v.source, v.source_annotator) for v in versions]
    verdicts = _verdicts(batch, keys)
    outcome = RoutingOutcome(dry_run=dry_run)
    outcome.gold = Pair.objects.filter(batch=batch, is_gold=True).count()
    pairs = list(
        Pair.objects.filter(batch=batch, is_gold=False)
        .order_by("pk")
        .values_list("pk", "taken", "credited")
    )
    human_work = {pk: taken - credited for pk, taken, credited in pairs}
    decided = {}
    for pk, _taken, _credited in pairs:
        drawn = audit_draw(routing.seed, pk) < routing.audit_share
        mine = verdicts.get(pk, {})
        decided[pk] = decide([mine.get(key) for key in keys], rules, drawn=drawn)
    settle = [
        pk for pk, (reason, _) in decided.items() if reason == "agree" and human_work[pk] == 0
    ]
    if settle and not dry_run:
        # Lock what is to be settled (pair rows by id, the services' lock order) and look
        # again: a claim that committed meanwhile has started human work on it.
        human_work.update(
            (pk, taken - credited)
            for pk, taken, credited in Pair.objects.filter(pk__in=settle)
            .order_by("pk")
            .select_for_update(of=("self",))
            .values_list("pk", "taken", "credited")
        )
    decisions = []
    for pk, (reason, verdict) in decided.items():
        started = reason == "agree" and human_work[pk] > 0
        to_humans = reason != "agree" or started
        decisions.append(
            RoutingDecision(
                routing=routing, pair_id=pk, to_humans=to_humans, reason=reason, started=started,
                verdict=verdict, credited=0 if to_humans else batch.overlap,
            )
        )  # fmt: skip
        outcome.items += 1
        outcome.started += started
        if to_humans:
            outcome.to_humans[reason] += 1
        else:
            outcome.settled += 1
    outcome.saved = outcome.settled * batch.overlap
    return outcome, decisions


def _verdicts(batch: Batch, keys) -> dict[int, dict[tuple[str, str], MachineVerdict]]:
    """Each item's verdicts of the deciding versions (only what routing reads of them)."""
    wanted = set(keys)
    rows = (
        ExternalAnnotation.objects.filter(
            batch=batch,
            source__in={s for s, _ in keys},
            source_annotator__in={a for _, a in keys},
        )
        .annotate(status=KT("details__status"), unsure=KT("details__unsure"))
        .values_list("pair_id", "source", "source_annotator", "answer", "status", "unsure")
    )
    found: dict[int, dict] = defaultdict(dict)
    for pair_id, source, label, answer, status, unsure in rows.iterator(chunk_size=2000):
        if (source, label) in wanted:
            found[pair_id][(source, label)] = MachineVerdict(
                answer=answer or {}, status=status, unsure=unsure == "true"
            )
    return found


@dataclass
class RoutingSummary:
    """What the dashboard shows of a batch's routing."""

    routing: BatchRouting
    items: int
    settled: int
    to_humans: dict[str, int]
    started: int
    saved: int
    audit_items: int
    audit_judged: int  # audit items with a human majority on the compared fields
    audit_agree: int

    @property
    def to_humans_total(self) -> int:
        return sum(self.to_humans.values())

    @property
    def audit_agreement(self) -> float | None:
        return self.audit_agree / self.audit_judged if self.audit_judged else None

    @property
    def reasons(self) -> list[tuple[str, str, int]]:
        labels = dict(RoutingDecision.Reason.choices)
        return [(reason, labels[reason], self.to_humans[reason]) for reason in REASONS]


def routing_summary(batch: Batch) -> RoutingSummary | None:
    """The batch's routing as the dashboard shows it, or None when it is not routed. Audit
    agreement: on audit items, how often our workers' majority (kept regular answers) says
    what the machines agreed on — the measure of how far settled items can be trusted."""
    routing = BatchRouting.objects.filter(batch=batch).prefetch_related("annotators").first()
    if routing is None or routing.routed_at is None:
        return None
    counts: dict[str, int] = defaultdict(int)
    settled = started = 0
    grouped = (
        RoutingDecision.objects.filter(routing=routing)
        .values_list("to_humans", "reason", "started")
        .annotate(n=Count("id"))
        .order_by()
    )
    for to_humans, reason, was_started, n in grouped:
        if to_humans:
            counts[reason] += n
        else:
            settled += n
        started += n if was_started else 0
    audit = dict(
        RoutingDecision.objects.filter(routing=routing, reason=AUDIT).values_list(
            "pair_id", "verdict"
        )
    )
    answers = defaultdict(list)
    for pair_id, harmful, categories in Annotation.objects.filter(
        pair_id__in=list(audit), rejected=False, is_gold=False
    ).values_list("pair_id", "harmful", "categories"):
        answers[pair_id].append({"harmful": harmful, "categories": categories})
    judged = agree = 0
    for pair_id, verdict in audit.items():
        majority = human_majority(answers.get(pair_id, ()), list(verdict or {}))
        if majority is None or not verdict:
            continue
        judged += 1
        agree += majority == verdict
    return RoutingSummary(
        routing=routing,
        items=settled + sum(counts.values()),
        settled=settled,
        to_humans={reason: counts[reason] for reason in REASONS},
        started=started,
        saved=settled * batch.overlap,
        audit_items=len(audit),
        audit_judged=judged,
        audit_agree=agree,
    )


def outcome_text(batch: Batch, outcome: RoutingOutcome) -> str:
    """The routing's summary as the command prints it and the admin says it."""
    reasons = outcome.to_humans
    parts = [
        f"{reason} {reasons[reason]}" for reason in REASONS if reason != "agree" and reasons[reason]
    ]
    if reasons["agree"]:
        parts.append(f"agreed but already started by humans {reasons['agree']}")
    to_humans = sum(reasons.values())
    head = "Would route" if outcome.dry_run else "Routed"
    return "\n".join(
        [
            f"{head} {batch.name}: {outcome.items} items"
            + (f" ({outcome.gold} gold items besides, never routed)" if outcome.gold else ""),
            f"  settled by the machines: {outcome.settled}",
            f"  to humans: {to_humans}" + (f" ({', '.join(parts)})" if parts else ""),
            f"  human judgements saved: {outcome.saved}"
            f" ({outcome.settled} × overlap {batch.overlap})",
        ]
    )
