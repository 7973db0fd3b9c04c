"""Classification batches out: our workers' majority verdict per item, and the reads both
classification formats (SafeSora-Label, VHD11K) are written from.

Majority rules (docs/exports-classification.md): every counted answer on an item, across all
the named batches' units of that item, votes. `harmful` is the majority of the answers that
gave it, a tie counting as harmful (as for harm labels of pairwise exports: a safety dataset
would rather flag a doubtful item than call it safe); a category is present when at least half
of the answers that gave categories name it. Gold units and answers and rejected work are left
out, as in every export. Answers of a counted source (`Batch.counted_sources`,
exports/counted.py) vote beside our workers', one vote each.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches.models import Batch, Pair
from annotation_server.core.exceptions import ApplicationError

from .counted import counted_rows

CHUNK_SIZE = 5000
SKIP_DISAGREE = "majority harmful verdict and categories disagree"
SKIP_FAILED = "media failed to process"

UNIT_COLUMNS = (
    "video_0_id",
    "pair_id",
    "prompt__prompt_id",
    "prompt__text",
    "prompt__prompt_type",
    "prompt__prompt_labels",
    "video_0__video_id",
    "video_0__video_text",
    "video_0__generated_from",
    "video_0__status",
    "video_0__rendition",
    "video_0__media_type",
    "video_0__source",
)


@dataclass(frozen=True)
class Verdict:
    answers: int
    harmful: bool | None  # None when no answer gave it
    categories: tuple[str, ...] | None  # in taxonomy order; None when no answer gave them

    @property
    def is_harmful(self) -> bool:
        """The item's verdict: the harmful majority, or any category when not asked."""
        return self.harmful if self.harmful is not None else bool(self.categories)

    @property
    def consistent(self) -> bool:
        """False when the harmful majority and the categories' majority say different things
        (harmful with no category agreed, or not harmful with one)."""
        if self.harmful is None or self.categories is None:
            return True
        return self.harmful == bool(self.categories)


def classification_batches(names: Sequence[str]) -> list[Batch] | None:
    """The named batches when they are all classification batches; None when none is;
    a refusal when the names mix both kinds (their formats differ)."""
    batches = list(Batch.objects.filter(name__in=names).select_related("taxonomy"))
    kinds = {b.kind for b in batches}
    if Batch.Kind.CLASSIFICATION not in kinds:
        return None
    if len(kinds) > 1:
        pairwise = sorted(b.name for b in batches if b.kind != Batch.Kind.CLASSIFICATION)
        raise ApplicationError(
            f"{', '.join(map(repr, pairwise))} are pairwise batches and the others are "
            "classification batches; export each kind on its own."
        )
    return sorted(batches, key=lambda b: b.name)


def units(batch_ids: list[int]) -> Iterator[dict]:
    """One row per distinct item of the batches' (non-gold) units, by prompt then item id."""
    seen: set[int] = set()
    rows = (
        Pair.objects.filter(batch_id__in=batch_ids, is_gold=False)
        .order_by("prompt__prompt_id", "video_0__video_id", "id")
        .values_list(*UNIT_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for row in rows:
        if row[0] not in seen:
            seen.add(row[0])
            yield dict(zip(UNIT_COLUMNS, row, strict=True))


def verdicts_collect(
    batch_ids: list[int], max_annotation_id: int, category_order: Sequence[str]
) -> dict[int, Verdict]:
    """Item (video pk) → our workers' majority verdict."""
    tallies: dict[int, list] = {}
    rows = (
        Annotation.objects.filter(
            id__lte=max_annotation_id,
            is_gold=False,
            rejected=False,
            pair__is_gold=False,
            pair__batch_id__in=batch_ids,
        )
        .order_by("id")
        .values_list("pair__video_0_id", "harmful", "categories")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    for item, harmful, categories in _with_counted(rows, batch_ids):
        # answers, answers giving harmful, harmful ones, answers giving categories, per key
        tally = tallies.setdefault(item, [0, 0, 0, 0, {}])
        tally[0] += 1
        if harmful is not None:
            tally[1] += 1
            tally[2] += harmful
        if categories is not None:
            tally[3] += 1
            for key in categories:
                tally[4][key] = tally[4].get(key, 0) + 1
    return {item: _verdict(tally, category_order) for item, tally in tallies.items()}


def _with_counted(rows, batch_ids: list[int]) -> Iterator[tuple]:
    yield from rows
    for _, _, item, answer in counted_rows(batch_ids, "pair__video_0_id", "answer"):
        answer = answer if isinstance(answer, dict) else {}
        harmful, categories = answer.get("harmful"), answer.get("categories")
        yield (
            item,
            harmful if isinstance(harmful, bool) else None,
            categories if isinstance(categories, list) else None,
        )


def counted_answers(batch_ids: list[int]) -> dict[int, list[tuple[dict, dict]]]:
    """Item (video pk) → the counted external answers on it, (answer, details) each."""
    found: dict[int, list[tuple[dict, dict]]] = {}
    for _, _, item, answer, details in counted_rows(
        batch_ids, "pair__video_0_id", "answer", "details"
    ):
        found.setdefault(item, []).append((answer or {}, details or {}))
    return found


MACHINE_PREFIX = "machine:"


def machine_spec(spec: str) -> tuple[str, int | None]:
    """("machine:<name>", version or None) of `machine:NAME[@vN]`; a refusal otherwise."""
    name, _, version = spec.removeprefix(MACHINE_PREFIX).partition("@")
    if not name or (version and not (version.startswith("v") and version[1:].isdigit())):
        raise ApplicationError(
            f"{spec!r}: name a machine annotator as machine:NAME or machine:NAME@vN."
        )
    return MACHINE_PREFIX + name, int(version[1:]) if version else None


def machine_verdicts(batch_ids: list[int], spec: str) -> dict[int, tuple[dict, dict]]:
    """Item (video pk) → (answer, details) of the machine's verdict (its newest version on
    the item unless the spec names one); a refusal when it judged no item of the batches."""
    source, version = machine_spec(spec)
    rows = ExternalAnnotation.objects.filter(batch_id__in=batch_ids, source=source)
    if version is not None:
        rows = rows.filter(source_annotator=f"v{version}")
    found: dict[int, tuple[int, dict, dict]] = {}
    for item, label, answer, details in rows.values_list(
        "pair__video_0_id", "source_annotator", "answer", "details"
    ).iterator(chunk_size=CHUNK_SIZE):
        number = int(label[1:]) if label[1:].isdigit() else 0
        if item not in found or number > found[item][0]:
            found[item] = (number, answer or {}, details or {})
    if not found:
        raise ApplicationError(
            f"{spec}: no verdict of that machine annotator in the batches. Nothing was written."
        )
    return {item: (answer, details) for item, (_, answer, details) in found.items()}


def _verdict(tally: list, order: Sequence[str]) -> Verdict:
    answers, gave_harmful, harmful, gave_categories, counts = tally
    categories = None
    if gave_categories:
        categories = tuple(k for k in order if 2 * counts.get(k, 0) >= gave_categories)
    return Verdict(
        answers=answers,
        harmful=(2 * harmful >= gave_harmful) if gave_harmful else None,
        categories=categories,
    )


def refusal(field: str, rows: list[dict], problem: str, remedy: str) -> ApplicationError:
    """A clear refusal naming the record field the batch cannot fill, and a few items."""
    examples = ", ".join(repr(r["pair_id"]) for r in rows[:3])
    return ApplicationError(
        f"{field}: {len(rows)} item(s) {problem} (e.g. {examples}); {remedy}. Nothing was written."
    )
