"""A classification batch's dashboard page: agreement per field, the annotator table, and our
workers' majority against an imported source's labels, pinned on a small hand-made batch
(plain per-item definitions in this file), plus its empty states and a query count that
does not grow with the batch."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.annotations.services import (
    annotation_submit,
    external_labels_write,
    pair_mark_gold,
)
from annotation_server.assignments.claim import assignment_claim_next
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import MediaType, Taxonomy
from annotation_server.quality import metrics
from annotation_server.quality.classification_columns import (
    external_columns,
    label_columns,
    verdicts,
)
from annotation_server.quality.classification_dashboard import batch_context
from annotation_server.quality.classification_stats import source_comparisons
from annotation_server.quality.models import BatchFigures
from tests.factories import BatchFactory, VideoFactory

pytestmark = pytest.mark.django_db

T, F = True, False
# worker → item → (harmful, categories); "g" is the gold item.
PLAN = {
    "w1": {"i0": (T, ["violence"]), "i1": (F, []), "i2": (T, ["violence", "crime"]),
           "i3": (T, ["crime"]), "i4": (F, []), "g": (T, ["violence"])},
    "w2": {"i0": (T, ["violence"]), "i1": (F, []), "i2": (T, ["crime"]),
           "i3": (F, []), "i4": (T, ["violence"]), "g": (T, [])},
    "w3": {"i0": (F, []), "i1": (F, []), "i2": (T, ["crime"]),
           "i3": (F, []), "i4": (T, ["violence"]), "g": (F, [])},
}  # fmt: skip
GOLD = {"harmful": True, "categories": ["violence"]}
# The release's own verdicts; None: categories not decided (as the VHD11K import stores it).
VHD = {
    "i0": (T, ["violence"]),
    "i1": (T, None),
    "i2": (T, ["crime"]),
    "i3": (T, ["crime"]),
    "i4": (F, []),
    "g": (T, ["violence"]),
}


def make_batch(names: list[str], *, gold: str | None = None) -> tuple[Batch, dict[str, Pair]]:
    taxonomy = Taxonomy.objects.get(name="safesora", version=1)
    # gold_rate 1: every worker is served the gold item (at a lower rate the draw decides
    # whether a worker meets it before the regular items run out).
    batch = BatchFactory(
        kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy, overlap=3, gold_rate=1.0
    )
    items = {}
    for name in names:
        image = VideoFactory(
            prompt=None, media_type=MediaType.IMAGE, video_text="", duration_s=None
        )
        items[name] = Pair.objects.create(batch=batch, video_0=image, pair_id=name)
    if gold:
        pair_mark_gold(pair=items[gold], answer=GOLD)
    return batch, items


def work(batch: Batch, plan: dict[str, dict[str, tuple]], make_user) -> None:
    """Each worker claims until nothing is left and answers every item as planned."""
    for name, answers in plan.items():
        worker = make_user(username=f"{batch.name}-{name}")
        while (
            assignment := assignment_claim_next(annotator=worker, batch_name=batch.name)
        ) is not None:
            harmful, categories = answers[assignment.pair.pair_id]
            annotation_submit(
                annotator=worker,
                assignment_id=assignment.pk,
                answers={"harmful": harmful, "categories": categories},
            )


def import_labels(batch: Batch, items: dict[str, Pair], labels: dict[str, tuple]) -> None:
    rows = [
        (items[name].pk, {"harmful": harmful, "categories": categories}, {})
        for name, (harmful, categories) in labels.items()
    ]
    external_labels_write(batch, batch.taxonomy, "vhd11k", rows)


@pytest.fixture
def small(make_user):
    batch, items = make_batch(["i0", "i1", "i2", "i3", "i4", "g"], gold="g")
    work(batch, PLAN, make_user)
    import_labels(batch, items, VHD)
    return batch


# --- plain definitions: one Python list per item -------------------------------------------


def field_of(answer: tuple, field: str) -> bool:
    harmful, categories = answer
    return harmful if field == "harmful" else field in categories


def plain_majority(values: list[bool]) -> bool | None:
    yes, no = values.count(True), values.count(False)
    return None if yes == no else yes > no


def plain_scores(pairs: list[tuple[bool, bool]]) -> dict:
    """(ours, reference) per item → Cohen's κ, precision, recall, F1 by their definitions."""
    c = Counter(pairs)
    tp, fp, fn, tn = c[(T, T)], c[(T, F)], c[(F, T)], c[(F, F)]
    n = len(pairs)
    p_ours, p_ref = (tp + fp) / n, (tp + fn) / n
    expected = p_ours * p_ref + (1 - p_ours) * (1 - p_ref)
    return {
        "confusion": (tp, fp, fn, tn),
        "kappa": ((tp + tn) / n - expected) / (1 - expected),
        "precision": tp / (tp + fp),
        "recall": tp / (tp + fn),
        "f1": 2 * (tp / (tp + fp)) * (tp / (tp + fn)) / (tp / (tp + fp) + tp / (tp + fn)),
    }


def plain_comparison(field: str) -> dict:
    pairs = []
    for item, label in VHD.items():
        ours = plain_majority([field_of(PLAN[w][item], field) for w in PLAN])
        if label[1] is None and field != "harmful":
            continue
        if ours is not None:
            pairs.append((ours, field_of(label, field)))
    return plain_scores(pairs)


def regular_units(field: str) -> list[list[bool]]:
    return [
        [field_of(PLAN[w][item], field) for w in PLAN] for item in ("i0", "i1", "i2", "i3", "i4")
    ]


# --- tests ---------------------------------------------------------------------------------


def test_agreement_per_field_matches_the_plain_definition(small):
    context = batch_context(small)
    rows = {label: row for label, row in context["agreement"]}
    assert len(rows) == 13  # harmful and the taxonomy's 12 categories
    for label, field in (("Harmful", "harmful"), ("Violence", "violence"), ("Crime", "crime")):
        row = rows[next(k for k in rows if k.startswith(label))]
        units = regular_units(field)
        assert row.alpha == pytest.approx(metrics.krippendorff_alpha(units))
        assert row.raw == pytest.approx(metrics.raw_agreement(units))
        assert row.units == 5  # the gold item is not a unit
    assert rows["Harmful"].positive_share == pytest.approx(8 / 15)


def test_annotator_table_has_gold_accuracy_agreement_and_times(small):
    lines = {
        line.username.rsplit("-", 1)[1]: line.stats for line in batch_context(small)["annotators"]
    }
    assert {name: s.done for name, s in lines.items()} == {"w1": 6, "w2": 6, "w3": 6}
    # Gold scores per field matched: w1 both, w2 harmful only, w3 neither.
    assert [lines[w].gold_accuracy for w in ("w1", "w2", "w3")] == [1.0, 0.5, 0.0]
    # Harmful against the majority of the two others, items where they tie skipped.
    assert [(lines[w].agreement, lines[w].agreement_n) for w in ("w1", "w2", "w3")] == [
        (0.5, 4), (1.0, 2), (pytest.approx(2 / 3), 3)
    ]  # fmt: skip
    assert all(s.median_seconds is not None and s.median_seconds >= 0 for s in lines.values())


def test_majority_against_the_source_matches_the_plain_scores(small):
    [source] = batch_context(small)["sources"]
    assert source.source == "vhd11k" and source.labelled == 6
    by_field = {f.field: f for _label, f in source.rows}
    for field in ("harmful", "violence", "crime"):
        expected, got = plain_comparison(field), by_field[field]
        assert (got.tp, got.fp, got.fn, got.tn) == expected["confusion"], field
        for name in ("kappa", "precision", "recall", "f1"):
            assert getattr(got, name) == pytest.approx(expected[name]), (field, name)
    harmful = by_field["harmful"]
    assert (harmful.precision, harmful.recall, harmful.support) == (0.75, 0.6, 5)
    assert harmful.kappa == pytest.approx(-2 / 7)
    assert by_field["violence"].items == 5  # the item without decided categories left out
    # A category neither side ever says: nothing to score, not a perfect score.
    porn = by_field["porn"]
    assert porn.tp == 0 and porn.precision is None and porn.recall is None and porn.kappa is None


def test_the_page_shows_the_tables_and_a_chart(client, make_user, small):
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/batches/{small.pk}/").content.decode()
    assert "Our majority against vhd11k" in html and "Cohen's κ" in html
    assert html.count("<svg") >= 2  # throughput and the source's chart
    harmful_row = re.search(r"<tr><td>Harmful</td>(.*?)</tr>", html.split('id="source-1"')[1], re.S)
    cells = re.findall(r'<td class="num">([^<]*)</td>', harmful_row.group(1))
    assert cells[:7] == ["6", "-0.29", "75.0%", "60.0%", "0.67", "5", "3"]
    assert "Generator comparison" not in html  # no pairwise sections


def test_empty_batch_says_there_is_nothing_yet(client, make_user):
    batch, _items = make_batch(["i0", "i1"])
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert "No answers yet" in html and "No external source" in html
    assert "Krippendorff" not in html.split("Inter-annotator agreement")[1].split("External")[0]


def _page_queries(client, batch: Batch) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/dashboard/batches/{batch.pk}/").status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_the_batch(client, make_user):
    client.force_login(make_user(roles.REVIEWER))
    counts = []
    for size in (3, 12):
        names = [f"i{k}" for k in range(size)]
        batch, items = make_batch(names)
        plan = {
            w: {name: (k % (j + 2) == 0, ["crime"] if k % (j + 2) == 0 else []) for k, name in
                enumerate(names)}
            for j, w in enumerate(("w1", "w2", "w3"))
        }  # fmt: skip
        work(batch, plan, make_user)
        import_labels(batch, items, {name: (k % 2 == 0, []) for k, name in enumerate(names)})
        first, again = _page_queries(client, batch), _page_queries(client, batch)
        counts.append((first, again))
    assert counts[0] == counts[1]


def test_an_answer_and_an_annotator_open_from_the_page(client, make_user, small):
    client.force_login(make_user(roles.REVIEWER))
    answer = small.annotations.get(pair__pair_id="i2", annotator__username__endswith="-w1")
    html = client.get(f"/dashboard/annotations/{answer.pk}/").content.decode()
    assert "crime, violence" in html and "<img" in html and "shown alone" in html
    review = client.get(f"/dashboard/batches/{small.pk}/annotators/{answer.annotator_id}/review/")
    assert review.status_code == 200 and "-w1" in review.content.decode()


def test_figures_stored_before_classification_figures_are_recomputed(client, make_user, small):
    # What a classification batch's row held when the dashboard knew pairwise figures only.
    BatchFigures.objects.update_or_create(
        batch=small,
        defaults={
            "annotations": 18, "last_annotation_id": None, "rejected": 0,
            "data": {"format": 1, "annotators": [], "agreement": [], "comparisons": []},
            "computed_at": timezone.now(),
        },
    )  # fmt: skip
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/batches/{small.pk}/").content.decode()
    assert "Our majority against vhd11k" in html and "-w3" in html


def test_each_source_is_compared_on_its_own_majority():
    # No database: three items, our answers, and two sources, one with two annotators.
    keys = ("crime",)
    ours = label_columns(
        annotation_id=range(6), annotator_id=[1, 2, 1, 2, 1, 2], pair_id=[10, 10, 11, 11, 12, 12],
        is_gold=[F] * 6, rejected=[F] * 5 + [T], gold_score=[None] * 6,
        server_duration_ms=[1000] * 6,
        verdicts=verdicts([T, T, F, T, T, F], ['["crime"]', "[]", "[]", "[]", "[]", "[]"], keys),
        last_active={},
    )  # fmt: skip
    # "b" has two labels on item 11 (they tie: no reference there) and two agreeing on 12.
    external = external_columns(
        pair_id=[10, 11, 12, 11, 11, 12, 12], source=["a", "a", "a", "b", "b", "b", "b"],
        verdicts=verdicts([F, T, T, T, F, T, T], ["[]"] * 7, keys),
    )  # fmt: skip
    a, b = source_comparisons(ours, external)
    # Ours: item 10 harmful (2 of 2), item 11 tied (no majority), item 12 harmful (the
    # rejected "no" left out).
    assert (a.source, a.labelled, b.source, b.labelled) == ("a", 3, "b", 2)
    harmful_a, harmful_b = a.fields[0], b.fields[0]
    assert (harmful_a.tp, harmful_a.fp, harmful_a.fn, harmful_a.tn) == (1, 1, 0, 0)
    assert (harmful_b.tp, harmful_b.fp, harmful_b.fn, harmful_b.tn) == (1, 0, 0, 0)
    assert harmful_b.kappa is None and harmful_b.f1 == 1.0  # one class only: κ undefined
    # Crime: worker 1 said it on item 10, worker 2 not: a tie, so only items 11 and 12 count.
    assert a.fields[1].items == 2 and a.fields[1].tn == 2
