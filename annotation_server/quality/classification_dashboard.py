"""What a classification batch's dashboard page shows: the live counts every batch page has,
then its stored figures (agreement per field, annotators, external sources) with labels."""

from __future__ import annotations

from dataclasses import dataclass

from annotation_server.batches.models import Batch
from annotation_server.quality import classification_stats as cstats
from annotation_server.quality.classification_columns import HARMFUL
from annotation_server.quality.dashboard import annotator_lines, batch_live
from annotation_server.quality.figures import batch_figures_current


@dataclass(frozen=True)
class SourceView:
    source: str
    labelled: int
    rows: list[tuple[str, cstats.FieldComparison]]  # (label, comparison), harmful first
    harmful: cstats.FieldComparison
    svg: str


def field_labels(batch: Batch, fields: list[str]) -> list[str]:
    """Display names of the figures' fields: "Harmful", then the taxonomy's English labels
    (a key the taxonomy no longer has shows as itself)."""
    categories = batch.taxonomy.categories if batch.taxonomy_id else []
    names = {c["key"]: c.get("label_en") or c["key"] for c in categories}
    return ["Harmful" if f == HARMFUL else names.get(f, f) for f in fields]


def batch_context(batch: Batch) -> dict:
    """The classification page: progress as every batch, Krippendorff's α per field, the
    annotator table and, per external source, our majority's κ/precision/recall/F1."""
    figures = batch_figures_current(batch=batch)
    found = figures.classification
    labels = field_labels(batch, found.fields) if found else []
    return {
        **batch_live(batch),
        "annotators": annotator_lines(batch, figures.annotators),
        "flagged": sum(1 for a in figures.annotators if a.flags),
        "figures": figures,
        "answers": found.answers if found else 0,
        "agreement": list(zip(labels, found.agreement, strict=True)) if found else [],
        "sources": [_source_view(s, labels) for s in found.sources] if found else [],
    }


def _source_view(comparison: cstats.SourceComparison, labels: list[str]) -> SourceView:
    return SourceView(
        source=comparison.source,
        labelled=comparison.labelled,
        rows=list(zip(labels, comparison.fields, strict=True)),
        harmful=comparison.fields[0],
        svg=_charts().source_svg(comparison.source, comparison.fields, labels),
    )


def _charts():
    """The chart module, imported on first use (matplotlib's import is slow and large; see
    `dashboard._charts`)."""
    from annotation_server.quality import classification_charts

    return classification_charts
