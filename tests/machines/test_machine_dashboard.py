"""The machines page of a classification batch: each machine annotator version against our
workers' majority (κ, precision, recall, F1 with bootstrap intervals, confusion, the workers'
α beside it), its cost per item, the items it disagrees on most, empty states, rights, and a
query count that does not grow with the batch."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.annotations.services import annotation_submit
from annotation_server.assignments.claim import assignment_claim_next
from annotation_server.machines import agreement, views
from annotation_server.machines.annotators import machine_annotator_save
from annotation_server.machines.models import MachineRun
from annotation_server.quality import metrics

pytestmark = pytest.mark.django_db

T, F = True, False
V, S, D = "violence", "sexual", "drugs"
# item → each worker's (harmful, categories). Majority on harmful: yes for 0, 1, 4.
WORKERS = {
    0: [(T, [V]), (T, [V]), (T, [V])],
    1: [(T, [V]), (T, [V]), (F, [])],
    2: [(F, []), (F, []), (F, [])],
    3: [(F, []), (F, []), (T, [D])],
    4: [(T, [D]), (T, [D]), (T, [D])],
    5: [(F, []), (F, []), (F, [])],
    6: [(T, [S]), (F, []), (F, [])],
    7: [(F, []), (F, []), (F, [])],
}
# v1: harmful tp 2 (0, 4), fn 1 (1), fp 2 (2, 6), tn 2 (3, 5); item 7 unparseable.
V1 = {0: (T, [V]), 1: (F, []), 2: (T, [V]), 3: (F, []), 4: (T, [D]), 5: (F, []),
      6: (T, [S]), 7: (None, None)}  # fmt: skip
# v2 (imported): the majority everywhere but item 3 (harmful, violence).
V2 = {**{n: (n in (0, 1, 4), cats) for n, cats in
         ((0, [V]), (1, [V]), (2, []), (4, [D]), (5, []), (6, []), (7, []))},
      3: (T, [V])}  # fmt: skip


def item(batch, n: int) -> str:
    return f"{batch.name}-item{n}"


def answer_all(batch, workers: dict[int, list[tuple]], make_user) -> None:
    """Three workers claim until nothing is left, each answering as `workers` says."""
    for w in range(3):
        worker = make_user(username=f"{batch.name}-w{w}")
        while (a := assignment_claim_next(annotator=worker, batch_name=batch.name)) is not None:
            harmful, categories = workers[int(a.pair.pair_id.rsplit("item", 1)[1])][w]
            annotation_submit(
                annotator=worker,
                assignment_id=a.pk,
                answers={"harmful": harmful, "categories": categories},
            )


def write_verdicts(batch, label: str, verdicts: dict[int, tuple]) -> None:
    pairs = {p.pair_id: p for p in batch.pairs.all()}
    ExternalAnnotation.objects.bulk_create(
        ExternalAnnotation(
            batch=batch, pair=pairs[item(batch, n)], source="machine:test-vlm",
            source_annotator=label, taxonomy=batch.taxonomy,
            answer={"harmful": h, "categories": c},
            details={"status": "unparseable" if h is None else "ok"},
        )
        for n, (h, c) in verdicts.items()
    )  # fmt: skip


def import_verdicts(batch, label: str, verdicts: dict[int, tuple], tmp_path) -> None:
    path = tmp_path / f"{label}.jsonl"
    path.write_text(
        "\n".join(
            json.dumps({"item": item(batch, n), "harmful": h, "categories": c})
            for n, (h, c) in verdicts.items()
        )
    )
    call_command("machine_import", batch.name, "test-vlm", str(path), "--label", label)


def annotator_version(version: int):
    config = {"base_url": "http://127.0.0.1:9/v1", "api_key_env": "MACHINE_TEST_KEY"}
    annotator, _ = machine_annotator_save(name="test-vlm", model=f"m{version}", **config)
    assert annotator.version == version
    return annotator


@pytest.fixture
def batch(make_batch, make_user, tmp_path):
    batch = make_batch(images=8, name="mdash")
    answer_all(batch, WORKERS, make_user)
    v1 = annotator_version(1)
    write_verdicts(batch, "v1", V1)
    MachineRun.objects.create(
        batch=batch, annotator=v1, done=7, unparseable=1, requests=8,
        prompt_tokens=8000, completion_tokens=800, estimated_cost=Decimal("0.08"),
    )  # fmt: skip
    import_verdicts(batch, "v2", V2, tmp_path)
    return batch


@pytest.fixture
def reviewer_client(client, make_user):
    client.force_login(make_user(roles.REVIEWER))
    return client


def page(client, batch) -> str:
    response = client.get(reverse("dashboard-batch-machines", args=[batch.pk]))
    assert response.status_code == 200
    return response.content.decode()


def section(html: str, key: str) -> str:
    start = html.index(f'data-version="{key}"')
    end = html.find('<section class="card version"', start)
    return html[start : end if end > 0 else len(html)]


def row(html: str, field: str) -> dict:
    """A field's row of a version's table: its scores, intervals and counts."""
    text = re.search(rf'<tr data-field="{field}">(.*?)</tr>', html, re.S).group(1)
    got = {
        name: (None if value == "n/a" else float(value))
        for name, value in re.findall(
            r'data-score="(\w+)"><span class="value">([^<]+)</span>', text
        )
    }
    got["intervals"] = {
        name: (float(low), float(high))
        for name, low, high in re.findall(
            r'data-score="(\w+)"><span class="value">[^<]+</span> <span class="muted interval" '
            r'data-low="([^"]+)" data-high="([^"]+)"',
            text,
        )
    }
    got.update({name: int(n) for name, n in re.findall(r'data-n="(\w+)">(\d+)<', text)})
    got["alpha"] = re.search(r'data-score="alpha">([^ <]+)', text).group(1)
    return got


def kpi(html: str, name: str) -> str:
    return re.search(rf'<b class="{name}">([^<]*)</b>', html).group(1)


def plain(tp: int, fp: int, fn: int, tn: int) -> dict:
    n = tp + fp + fn + tn
    expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n**2
    p, r = tp / (tp + fp), tp / (tp + fn)
    return {
        "kappa": ((tp + tn) / n - expected) / (1 - expected),
        "precision": p,
        "recall": r,
        "f1": 2 * p * r / (p + r),
    }


def test_each_version_against_the_majority_matches_hand_computed_scores(batch, reviewer_client):
    html = page(reviewer_client, batch)
    v1 = row(section(html, "machine:test-vlm|v1"), "harmful")
    assert (v1["tp"], v1["fp"], v1["fn"], v1["tn"], v1["items"]) == (2, 2, 1, 2, 7)
    assert v1["support"] == 3  # items the majority calls harmful
    assert v1["kappa"] == pytest.approx(0.16, abs=5e-4)  # 4/25, shown to 3 places
    for name, value in plain(2, 2, 1, 2).items():
        assert v1[name] == pytest.approx(value, abs=5e-4), name
    v2 = row(section(html, "machine:test-vlm|v2"), "harmful")
    assert (v2["tp"], v2["fp"], v2["fn"], v2["tn"], v2["items"]) == (3, 1, 0, 4, 8)
    assert (v2["kappa"], v2["precision"], v2["recall"]) == (0.75, 0.75, 1.0)
    # A category: v1 says violence on item 2, misses it on item 1.
    violence = row(section(html, "machine:test-vlm|v1"), V)
    assert (violence["tp"], violence["fp"], violence["fn"], violence["tn"]) == (1, 1, 1, 4)


def test_workers_alpha_stands_beside_each_field_as_the_ceiling(batch, reviewer_client):
    units = [[answer[0] for answer in WORKERS[n]] for n in range(8)]
    expected = metrics.krippendorff_alpha(units)
    harmful = row(section(page(reviewer_client, batch), "machine:test-vlm|v1"), "harmful")
    assert float(harmful["alpha"]) == pytest.approx(expected, abs=5e-4)


def test_intervals_hold_the_estimate_and_narrow_with_more_items(batch, reviewer_client):
    v1 = row(section(page(reviewer_client, batch), "machine:test-vlm|v1"), "harmful")
    for name in agreement.SCORES:
        low, high = v1["intervals"][name]
        assert low <= v1[name] + 5e-4 and v1[name] - 5e-4 <= high, name
    # The same proportions, 1×, 10× and 100× the items: each interval narrower.
    widths = []
    for scale in (1, 10, 100):
        found = agreement.bootstrap_intervals(20 * scale, 10 * scale, 5 * scale, 15 * scale)
        widths.append({name: found[name][1] - found[name][0] for name in agreement.SCORES})
    for name in agreement.SCORES:
        assert widths[0][name] > widths[1][name] > widths[2][name], name
    # A fixed seed: the page shows the same interval every time.
    assert agreement.bootstrap_intervals(2, 2, 1, 2) == agreement.bootstrap_intervals(2, 2, 1, 2)


def test_unparseable_verdicts_are_counted_apart_and_cost_comes_from_the_run(batch, reviewer_client):
    html = page(reviewer_client, batch)
    v1, v2 = section(html, "machine:test-vlm|v1"), section(html, "machine:test-vlm|v2")
    assert (kpi(v1, "labelled"), kpi(v1, "unparseable")) == ("7", "1")
    assert kpi(v1, "cost-per-item") == "$0.010000"  # $0.08 over 8 verdicts paid for
    assert kpi(v1, "tokens-per-item") == "1100"
    # Imported: no run, nothing known about cost.
    assert (kpi(v2, "labelled"), kpi(v2, "unparseable")) == ("8", "0")
    assert kpi(v2, "cost-per-item") == "—" and kpi(v2, "tokens-per-item") == "—"


def test_disagreements_most_confident_majority_first_with_links(batch, reviewer_client):
    v1 = section(page(reviewer_client, batch), "machine:test-vlm|v1")
    pairs = {p.pair_id: p.pk for p in batch.pairs.all()}
    listed = re.findall(r'<tr data-pair="(\d+)">', v1)
    # Item 2: all three workers against the machine; then items 1 and 6 (two of three).
    assert listed == [str(pairs[item(batch, n)]) for n in (2, 1, 6)]
    assert kpi(v1, "disagreement-count") == "3"
    verdict = ExternalAnnotation.objects.get(pair__pair_id=item(batch, 2), source_annotator="v1")
    link = reverse("admin:machines_machineverdict_change", args=[verdict.pk])
    assert f'<a class="verdict" href="{link}">' in v1
    assert item(batch, 2) in v1 and "100%" in v1
    assert "Harmful: yes · 0 / 3" in v1 and "Violence: yes · 0 / 3" in v1
    image = batch.pairs.get(pair_id=item(batch, 2)).video_0
    assert reverse("video-rendition", kwargs={"uid": image.uid}) in v1


def test_the_full_list_pages_in_the_same_order(batch, reviewer_client, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    url = reverse("dashboard-batch-machine-disagreements", args=[batch.pk])
    pairs = {p.pair_id: p.pk for p in batch.pairs.all()}
    first = reviewer_client.get(url, {"version": "machine:test-vlm|v1"}).content.decode()
    second = reviewer_client.get(url, {"version": "machine:test-vlm|v1", "page": 2})
    assert re.findall(r'<tr data-pair="(\d+)">', first) == [
        str(pairs[item(batch, n)]) for n in (2, 1)
    ]
    assert re.findall(r'<tr data-pair="(\d+)">', second.content.decode()) == [
        str(pairs[item(batch, 6)])
    ]
    assert "3 items" in first and "page 1 of 2" in first
    assert reviewer_client.get(url, {"version": "machine:nobody|v9"}).status_code == 404


@pytest.fixture
def superuser(make_user):
    # The admin role (not a superuser) opens the machines app's admin pages.
    return make_user(roles.ADMIN)


def test_the_verdict_link_opens_the_transcript_page(batch, client, superuser):
    client.force_login(superuser)
    verdict = ExternalAnnotation.objects.get(pair__pair_id=item(batch, 2), source_annotator="v1")
    response = client.get(reverse("admin:machines_machineverdict_change", args=[verdict.pk]))
    assert response.status_code == 200 and b"transcript" in response.content


def test_reachable_from_the_batch_dashboard_and_the_runs_admin(batch, client, superuser):
    client.force_login(superuser)
    url = reverse("dashboard-batch-machines", args=[batch.pk])
    assert url in client.get(reverse("dashboard-batch", args=[batch.pk])).content.decode()
    assert url in client.get(reverse("admin:machines_machinerun_changelist")).content.decode()


def test_only_reviewers_and_admins(batch, client, make_user):
    url = reverse("dashboard-batch-machines", args=[batch.pk])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(make_user(roles.ANNOTATOR))
    assert client.get(url).status_code == 403
    list_url = reverse("dashboard-batch-machine-disagreements", args=[batch.pk])
    assert client.get(list_url, {"version": "machine:test-vlm|v1"}).status_code == 403


def test_empty_states(make_batch, make_user, reviewer_client, tmp_path):
    nothing = make_batch(images=2, name="mdash-empty")
    assert "No machine verdicts on this batch yet" in page(reviewer_client, nothing)

    unanswered = make_batch(images=3, name="mdash-unanswered")
    import_verdicts(unanswered, "v1", {0: (T, [V]), 1: (F, []), 2: (F, [])}, tmp_path)
    html = page(reviewer_client, unanswered)
    assert "No answers from our workers yet" in html
    assert row(section(html, "machine:test-vlm|v1"), "harmful")["items"] == 0

    broken = make_batch(images=2, name="mdash-broken")
    answer_all(broken, WORKERS, make_user)
    import_verdicts(broken, "v3", {0: (None, None), 1: (None, None)}, tmp_path)
    html = section(page(reviewer_client, broken), "machine:test-vlm|v3")
    assert "Every verdict of this version is unparseable" in html
    assert (kpi(html, "labelled"), kpi(html, "unparseable")) == ("0", "2")

    # A run queued but with no verdict yet is listed, without figures.
    MachineRun.objects.create(batch=nothing, annotator=annotator_version(1))
    html = page(reviewer_client, nothing)
    assert "No verdicts of this version yet" in html
    assert kpi(html, "cost-per-item") == "—" and kpi(html, "labelled") == "0"


def test_queries_do_not_grow_with_the_batch(make_batch, make_user, reviewer_client, tmp_path):
    def counted(images: int, name: str) -> int:
        batch = make_batch(images=images, name=name)
        plan = {n: WORKERS[n % 8] for n in range(images)}
        answer_all(batch, plan, make_user)
        import_verdicts(batch, "v1", {n: V1[n % 8] for n in range(images)}, tmp_path)
        import_verdicts(batch, "v2", {n: V2[n % 8] for n in range(images)}, tmp_path)
        with CaptureQueriesContext(connection) as queries:
            page(reviewer_client, batch)
        return len(queries)

    small, large = counted(8, "mdash-small"), counted(40, "mdash-large")
    assert small == large
