"""A classification batch's stored figures (kept in `BatchFigures` like a pairwise batch's):
the JSON written by the refresh and the figures a page reads back from it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from annotation_server.quality import classification_stats as cstats
from annotation_server.quality.classification_columns import ExternalColumns, LabelColumns
from annotation_server.quality.stats import Thresholds, annotator_flags

KIND = "classification"


@dataclass(frozen=True)
class ClassificationFigures:
    fields: list[str]  # "harmful", then the category keys
    agreement: list[cstats.FieldAgreement]
    sources: list[cstats.SourceComparison]
    answers: int  # kept answers the figures describe


def figures_data(answers: LabelColumns, external: ExternalColumns) -> dict:
    """The figures of a classification batch as JSON-ready data (flags left to the page)."""
    annotators = cstats.annotator_table(answers, Thresholds())
    return {
        "kind": KIND,
        "fields": list(answers.verdicts.fields),
        "answers": int((~answers.rejected).sum()),
        "annotators": [
            {
                **dataclasses.asdict(a),
                "flags": [],
                "last_active": a.last_active.isoformat() if a.last_active else None,
            }
            for a in annotators
        ],
        "agreement": [dataclasses.asdict(row) for row in cstats.agreement_table(answers)],
        "sources": [
            {
                "source": c.source,
                "labelled": c.labelled,
                "fields": [dataclasses.asdict(f) for f in c.fields],
            }
            for c in cstats.source_comparisons(answers, external)
        ],
    }


def figures_from_data(
    data: dict, thresholds: Thresholds
) -> tuple[list[cstats.LabelAnnotatorStats], ClassificationFigures]:
    """The annotator table (flagged with today's thresholds) and the other figures."""
    annotators = []
    for fields in data["annotators"]:
        last = fields["last_active"]
        line = cstats.LabelAnnotatorStats(
            **{**fields, "last_active": dt.datetime.fromisoformat(last) if last else None}
        )
        line.flags = annotator_flags(line, thresholds)
        annotators.append(line)
    annotators.sort(key=lambda s: (not s.flags, -s.done, s.annotator_id))
    figures = ClassificationFigures(
        fields=data["fields"],
        agreement=[cstats.FieldAgreement(**row) for row in data["agreement"]],
        sources=[
            cstats.SourceComparison(
                source=c["source"],
                labelled=c["labelled"],
                fields=[cstats.FieldComparison(**f) for f in c["fields"]],
            )
            for c in data["sources"]
        ],
        answers=data["answers"],
    )
    return annotators, figures
