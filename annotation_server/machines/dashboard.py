"""What the machines page of a classification batch shows: per machine annotator version, its
agreement with our workers' majority per field beside the workers' own α (the ceiling), its
cost per item, and the items where it disagrees most. Figures are computed on each view from
the stored answers (a fixed number of queries; `agreement.py` does the arithmetic)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.urls import reverse

from annotation_server.batches.models import Batch, Pair
from annotation_server.quality.classification_dashboard import field_labels
from annotation_server.quality.classification_selectors import (
    batch_category_keys,
    batch_label_answers,
)
from annotation_server.quality.classification_stats import FieldAgreement, agreement_table

from . import dashboard_selectors as selectors
from .agreement import Disagreement, FieldScore, VersionAgreement, version_agreements
from .hints_dashboard import anchoring_card
from .models import SOURCE_PREFIX, MachineRun
from .routing import routing_summary

TOP = 10  # disagreements listed per version on the page; the rest on its own list


@dataclass(frozen=True)
class FieldRow:
    label: str
    score: FieldScore
    ceiling: FieldAgreement  # our workers' α on the same field


@dataclass(frozen=True)
class DisagreementRow:
    disagreement: Disagreement
    pair: Pair | None
    thumbnail: str | None  # URL of the image, or of the video's poster
    admin_url: str  # the machine verdict's admin page: the transcript beside the item
    categories: str  # the machine's categories, by label
    fields: list[tuple[str, bool, int, int]]  # (label, machine, workers yes, workers no)


@dataclass
class VersionView:
    source: str
    label: str
    run: MachineRun | None
    agreement: VersionAgreement | None  # None: a run without a verdict yet
    rows: list[FieldRow] = field(default_factory=list)
    top: list[DisagreementRow] = field(default_factory=list)
    svg: str = ""

    @property
    def name(self) -> str:
        return f"{self.source.removeprefix(SOURCE_PREFIX)} {self.label}"

    @property
    def key(self) -> str:
        """The version in a URL's query: `source|label`."""
        return f"{self.source}|{self.label}"

    @property
    def verdicts(self) -> int:
        return self.agreement.verdicts if self.agreement else 0

    @property
    def charged_items(self) -> int:
        """Items the run called for and stored a verdict of (unparseable ones are paid too)."""
        return self.run.done + self.run.unparseable if self.run else 0

    @property
    def cost_per_item(self) -> Decimal | None:
        return self.run.estimated_cost / self.charged_items if self.charged_items else None

    @property
    def tokens_per_item(self) -> float | None:
        if not self.charged_items:
            return None
        return (self.run.prompt_tokens + self.run.completion_tokens) / self.charged_items

    @property
    def disagreements(self) -> int:
        return len(self.agreement.disagreements) if self.agreement else 0


def machines_context(batch: Batch) -> dict:
    """The whole page: one VersionView per machine version with verdicts or a run."""
    views, names, answers = _versions(batch)
    shown = {id(v): v.agreement.disagreements[:TOP] for v in views if v.agreement}
    pairs = selectors.pairs_with_media(ids=[d.pair_id for top in shown.values() for d in top])
    for view in views:
        view.top = (
            [disagreement_row(d, pairs.get(d.pair_id), names) for d in shown[id(view)]]
            if view.agreement
            else []
        )
        if view.agreement and view.agreement.labelled:
            view.svg = _charts().version_svg(view.name, view.rows)
    return {
        "batch": batch,
        "versions": views,
        "answers": answers,
        "top": TOP,
        "routing": routing_summary(batch),
        "anchoring": anchoring_card(batch),
    }


def version_disagreements(batch: Batch, key: str) -> tuple[VersionView | None, dict[str, str]]:
    """One version (`VersionView.key`) with its full disagreement list, and the field names."""
    views, names, _ = _versions(batch)
    return next((v for v in views if v.key == key), None), names


def _versions(batch: Batch) -> tuple[list[VersionView], dict[str, str], int]:
    """Every version's figures, the fields' display names, the kept answers."""
    keys = batch_category_keys(batch=batch)
    answers = batch_label_answers(batch=batch, keys=keys)
    machine = selectors.batch_machine_verdicts(batch=batch, keys=keys)
    runs = selectors.batch_machine_runs(batch=batch)
    fields = answers.verdicts.fields
    labels = field_labels(batch, list(fields))
    ceilings = agreement_table(answers)
    found = {(a.source, a.label): a for a in version_agreements(answers, machine)}
    views = []
    for source, label in sorted({*found, *runs}, key=_version_order):
        view = VersionView(source, label, runs.get((source, label)), found.get((source, label)))
        if view.agreement:
            view.rows = [
                FieldRow(label=name, score=score, ceiling=ceiling)
                for name, score, ceiling in zip(
                    labels, view.agreement.fields, ceilings, strict=True
                )
            ]
        views.append(view)
    kept = len(answers) - int(answers.rejected.sum())
    return views, dict(zip(fields, labels, strict=True)), kept


def disagreement_rows(
    disagreements: list[Disagreement], names: dict[str, str]
) -> list[DisagreementRow]:
    pairs = selectors.pairs_with_media(ids=[d.pair_id for d in disagreements])
    return [disagreement_row(d, pairs.get(d.pair_id), names) for d in disagreements]


def disagreement_row(d: Disagreement, pair: Pair | None, names: dict[str, str]) -> DisagreementRow:
    return DisagreementRow(
        disagreement=d,
        pair=pair,
        thumbnail=_thumbnail(pair),
        admin_url=reverse("admin:machines_machineverdict_change", args=[d.verdict_id]),
        categories="—"
        if d.categories is None
        else ", ".join(names.get(k, k) for k in d.categories) or "none",
        fields=[(names.get(f.field, f.field), f.machine, f.yes, f.no) for f in d.fields],
    )


def _thumbnail(pair: Pair | None) -> str | None:
    media = pair.video_0 if pair else None
    if media is None:
        return None
    if media.media_type == "image" and media.rendition:
        return reverse("video-rendition", kwargs={"uid": media.uid})
    if media.poster:
        return reverse("video-poster", kwargs={"uid": media.uid})
    return None


_VERSION = re.compile(r"^v(\d+)$")


def _version_order(key: tuple[str, str]) -> tuple:
    """By source, then v1, v2, … v10 numerically, then other labels (imports) by name."""
    source, label = key
    number = _VERSION.match(label)
    return (source, 0, int(number.group(1)), "") if number else (source, 1, 0, label)


def _charts():
    """The chart module, imported on first use (matplotlib's import is slow and large, as
    `quality.classification_dashboard._charts` says)."""
    from . import dashboard_charts

    return dashboard_charts
