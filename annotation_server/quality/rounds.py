"""A study's second round: a new batch of the items of an earlier one where the crowd split, or
where its majority disagrees with an external source (a release's own labels, say).

The new batch asks the same question of the same items (same prompt and videos, same pair
ids) with the earlier batch's settings, and carries the items' external labels along, so its
dashboard compares the new answers with the same source. It starts `ready`: an admin
publishes it as any other. Gold items are not copied: a new round marks its own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from django.db import transaction

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError

# The verdicts an item's agreement is measured on, per batch kind.
FIELDS = {
    Batch.Kind.PAIRWISE: ("helpfulness", "harmlessness"),
    Batch.Kind.CLASSIFICATION: ("harmful",),
}
# Settings a new round keeps from the batch it comes from.
COPIED = (
    "kind", "taxonomy", "ask_harmful", "ask_categories", "ask_reason", "ask_confidence",
    "overlap", "priority", "instructions", "assignment_expiry_minutes", "must_watch",
    "blur_videos", "label_prompts",
)  # fmt: skip


def _answers(batch: Batch) -> dict[int, dict[str, list]]:
    """Kept answers of regular items: pair pk → field → values given."""
    fields = FIELDS[batch.kind]
    rows = Annotation.objects.filter(batch=batch, rejected=False, is_gold=False).values_list(
        "pair_id", *fields
    )
    out: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for pair_pk, *values in rows.iterator(chunk_size=5000):
        for field, value in zip(fields, values, strict=True):
            if value is not None:
                out[pair_pk][field].append(value)
    return out


def _majority(values: list) -> Any:
    """The value most answers gave, or None on a tie."""
    top = Counter(values).most_common(2)
    if not top or (len(top) == 2 and top[0][1] == top[1][1]):
        return None
    return top[0][0]


def item_agreement(batch: Batch) -> dict[int, float]:
    """Pair pk → share of answers that agree with the item's most given verdict, averaged over
    the kind's fields; only items with two answers or more."""
    agreement = {}
    for pair_pk, by_field in _answers(batch).items():
        shares = [
            Counter(v).most_common(1)[0][1] / len(v) for v in by_field.values() if len(v) >= 2
        ]
        if shares:
            agreement[pair_pk] = sum(shares) / len(shares)
    return agreement


def items_disagreeing_with(batch: Batch, source: str) -> set[int]:
    """Pairs where our majority, on a field the source also answered, differs from it."""
    theirs: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for pair_pk, answer in ExternalAnnotation.objects.filter(
        batch=batch, source=source
    ).values_list("pair_id", "answer"):
        for field in FIELDS[batch.kind]:
            if isinstance(answer, dict) and answer.get(field) is not None:
                theirs[pair_pk][field].append(answer[field])
    found = set()
    for pair_pk, by_field in _answers(batch).items():
        for field, values in by_field.items():
            ours, reference = _majority(values), _majority(theirs[pair_pk][field])
            if ours is not None and reference is not None and ours != reference:
                found.add(pair_pk)
    return found


def batch_new_round(
    *,
    batch: Batch,
    name: str,
    owner: Any = None,
    agreement_below: float | None = None,
    disagrees_with: str | None = None,
    overlap: int | None = None,
) -> Batch:
    """Make batch `name` of the items of `batch` chosen by one rule: agreement below a share
    (0–1), or our majority disagreeing with external source `disagrees_with`."""
    if not name or len(name) > 128:
        raise ApplicationError("Give the new batch a name (at most 128 characters).")
    if overlap is not None and not 1 <= overlap <= 50:
        raise ApplicationError("Annotators per item is a number from 1 to 50.")
    if (agreement_below is None) == (disagrees_with is None):
        raise ApplicationError("Choose the items by one rule: agreement below T, or a source.")
    if Batch.objects.filter(name=name).exists():
        raise ApplicationError(
            f"A batch named {name!r} already exists; choose another name.", code="name_taken"
        )
    if agreement_below is not None:
        if not 0 < agreement_below <= 1:
            raise ApplicationError("The agreement threshold is a share between 0 and 1, e.g. 0.7.")
        chosen = {pk for pk, share in item_agreement(batch).items() if share < agreement_below}
        rule = {"agreement_below": agreement_below}
        why = f"agreement below {agreement_below:.0%}"
    else:
        if not ExternalAnnotation.objects.filter(batch=batch, source=disagrees_with).exists():
            known = sorted(
                set(ExternalAnnotation.objects.filter(batch=batch).values_list("source", flat=True))
            )
            raise ApplicationError(
                f"Batch {batch.name!r} has no labels from source {disagrees_with!r} "
                f"(its sources: {', '.join(known) or 'none'})."
            )
        chosen = items_disagreeing_with(batch, disagrees_with)
        rule = {"disagrees_with": disagrees_with}
        why = f"our majority disagreeing with {disagrees_with}"
    if not chosen:
        raise ApplicationError(f"No item of {batch.name!r} has {why}; no batch was made.")
    return _create(batch, name, owner, sorted(chosen), {**rule, "overlap": overlap}, overlap)


@transaction.atomic
def _create(batch: Batch, name: str, owner, pair_pks: list[int], rule: dict, overlap) -> Batch:
    settings = {field: getattr(batch, field) for field in COPIED}
    if overlap is not None:
        settings["overlap"] = overlap
    new = Batch.objects.create(
        name=name,
        owner=owner,
        status=Batch.Status.READY,
        derived_from=batch,
        derived_rule=rule,
        **settings,
    )
    items = Pair.objects.filter(pk__in=pair_pks).order_by("pk")
    copies = Pair.objects.bulk_create(
        [
            Pair(batch=new, prompt_id=p.prompt_id, video_0_id=p.video_0_id,
                 video_1_id=p.video_1_id, pair_id=p.pair_id, active=p.active)
            for p in items
        ],
        batch_size=2000,
    )  # fmt: skip
    new_pk = {old: copy.pk for old, copy in zip(pair_pks, copies, strict=True)}
    ExternalAnnotation.objects.bulk_create(
        [
            ExternalAnnotation(
                pair_id=new_pk[e.pair_id], batch=new, source=e.source,
                source_annotator=e.source_annotator, taxonomy_id=e.taxonomy_id,
                answer=e.answer, details=e.details,
            )
            for e in ExternalAnnotation.objects.filter(pair_id__in=pair_pks).iterator()
        ],
        batch_size=2000,
    )  # fmt: skip
    audit_record(
        actor=owner,
        verb="batch.new_round",
        target=new,
        details={"from": batch.name, "items": len(copies), **rule},
    )
    return new
