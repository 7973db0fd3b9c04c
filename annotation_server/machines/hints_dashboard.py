"""The anchoring card of a classification batch's machines page: with hints on, how often
workers' answers agree with the hinted version's verdict on items answered with the hint
shown and without it (anchoring.py does the arithmetic). Hinted means what the worker saw
(a HintShown row on the answer's assignment), not what the draw would have shown. Three
queries whatever the batch's size: the setting, the version's verdicts, the answers."""

from __future__ import annotations

from dataclasses import dataclass, field

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches.models import Batch
from annotation_server.quality.classification_dashboard import field_labels
from annotation_server.quality.classification_selectors import batch_category_keys
from annotation_server.quality.selectors import query_rows

from .anchoring import MIN_ANSWERS, Answer, FieldAnchoring, anchoring
from .routing_models import BatchHints


@dataclass(frozen=True)
class AnchoringRow:
    label: str
    figures: FieldAnchoring


@dataclass
class AnchoringCard:
    hints: BatchHints | None
    rows: list[AnchoringRow] = field(default_factory=list)
    minimum: int = MIN_ANSWERS

    @property
    def on(self) -> bool:
        return self.hints is not None and self.hints.enabled

    @property
    def first(self) -> FieldAnchoring | None:
        return self.rows[0].figures if self.rows else None

    @property
    def enough(self) -> bool:
        """Both sides have MIN_ANSWERS compared answers on the first field."""
        first = self.first
        return bool(first and min(first.hinted.answers, first.unhinted.answers) >= MIN_ANSWERS)


def anchoring_card(batch: Batch) -> AnchoringCard:
    hints = BatchHints.objects.filter(batch=batch).select_related("annotator").first()
    if hints is None or hints.annotator is None:
        return AnchoringCard(hints=hints)
    version = hints.annotator
    verdicts = {}
    for pair_id, answer in ExternalAnnotation.objects.filter(
        batch=batch,
        pair__is_gold=False,
        source=version.source,
        source_annotator=version.source_annotator,
    ).values_list("pair_id", "answer"):
        verdicts[pair_id] = answer or {}
    fields = [
        *(["harmful"] if batch.ask_harmful else []),
        *(batch_category_keys(batch=batch) if batch.ask_categories else ()),
    ]
    rows = query_rows(
        Annotation.objects.filter(batch=batch, rejected=False, is_gold=False).values_list(
            "pair_id", "harmful", "categories", "assignment__hint_shown__annotator_id"
        )
    )
    answers = [
        Answer(pair_id=pair_id, shown=shown_by is not None, harmful=harmful, categories=cats)
        for pair_id, harmful, cats, shown_by in rows
        # A hint of another version (shown before the setting changed) is neither side.
        if shown_by is None or shown_by == version.pk
    ]
    figures = anchoring(answers, verdicts, fields)
    labels = field_labels(batch, fields)
    return AnchoringCard(
        hints=hints,
        rows=[AnchoringRow(label, f) for label, f in zip(labels, figures, strict=True)],
    )
