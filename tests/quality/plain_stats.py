"""The dashboard figures computed the plain way, one Python list per unit and a Counter each
(the per-unit definitions in quality/metrics.py): the meaning the vectorised figures in
quality/stats.py must keep."""

from __future__ import annotations

from collections import defaultdict

from annotation_server.quality import metrics
from annotation_server.quality.stats import CHOICE_FIELDS, AnnotationRow
from annotation_server.taxonomy import HARM_CATEGORIES


def plain_agreement(rows: list[AnnotationRow]) -> list[tuple]:
    """(alpha, raw agreement, units) per preference, then per harm category."""
    by_pair: dict[int, list[AnnotationRow]] = defaultdict(list)
    for r in rows:
        if not r.is_gold and not r.rejected:
            by_pair[r.pair_id].append(r)
    multi = [group for group in by_pair.values() if len(group) >= 2]
    table = []
    for name, _label in CHOICE_FIELDS:
        units = [[r.choices[name] for r in group] for group in multi]
        table.append((metrics.krippendorff_alpha(units), metrics.raw_agreement(units), len(units)))
    for category in HARM_CATEGORIES:
        units = []
        for group in multi:
            units.append([category.key in r.video_0_harms for r in group])
            units.append([category.key in r.video_1_harms for r in group])
        table.append((metrics.krippendorff_alpha(units), metrics.raw_agreement(units), len(units)))
    return table


def plain_annotators(rows: list[AnnotationRow]) -> dict[int, dict]:
    """Per annotator, every column of the dashboard's annotator table except the flags."""
    agree: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for name, _label in CHOICE_FIELDS:
        result = metrics.majority_agreement(
            (r.pair_id, r.annotator_id, r.choices[name]) for r in rows if not r.is_gold
        )
        for annotator, (hits, total) in result.items():
            agree[annotator][0] += hits
            agree[annotator][1] += total
    mine: dict[int, list[AnnotationRow]] = defaultdict(list)
    for r in rows:
        mine[r.annotator_id].append(r)
    table = {}
    for annotator, own in mine.items():
        golds = [r.gold_score for r in own if r.is_gold and r.gold_score is not None]
        hits, total = agree.get(annotator, (0, 0))
        table[annotator] = {
            "done": len(own),
            "rejected": sum(r.rejected for r in own),
            "median_seconds": metrics.median([r.server_duration_ms for r in own]) / 1000,
            "agreement": hits / total if total else None,
            "agreement_n": total,
            "gold_accuracy": sum(golds) / len(golds) if golds else None,
            "gold_n": len(golds),
            "left_share": metrics.left_share(
                (r.choices["helpfulness"], r.left_is_video_0) for r in own
            ),
            "last_active": max(r.created_at for r in own),
        }
    return table


def plain_generators(rows: list[AnnotationRow], samples: int) -> dict[str, tuple]:
    """Per overall question: (win rates, Bradley–Terry scores) from a list of judgements."""
    usable = [r for r in rows if not r.is_gold and not r.rejected and r.model_0 != r.model_1]
    result = {}
    for question in ("helpfulness", "harmlessness"):
        judgements = [
            (r.model_0, r.model_1) if r.choices[question] == "video_0" else (r.model_1, r.model_0)
            for r in usable
        ]
        result[question] = (
            metrics.win_rates(judgements),
            metrics.bradley_terry_bootstrap(judgements, samples=samples),
        )
    return result
