"""The /dashboard/ pages: who may see them, and what an admin reads there."""

from __future__ import annotations

import re

import pytest

from annotation_server.accounts import roles
from annotation_server.quality.selectors import batch_progress_list
from annotation_server.quality.simulation import batch_simulate
from tests.exports.annotating import annotate
from tests.factories import BatchFactory, PairFactory
from tests.quality.work import claim_and_submit


@pytest.fixture
def simulated(db):
    return batch_simulate(name="sim", prompts=24, annotators=5, clickers=1, seed=7).batch


def _annotator_rows(html: str) -> dict[str, str]:
    rows = re.findall(r"<tr class=\"(?:flagged)?\">(.*?)</tr>", html, flags=re.S)
    return {
        re.search(r">(sim-[a-z0-9]+)<", r).group(1): r
        for r in rows
        if re.search(r">(sim-[a-z0-9]+)<", r)
    }


def test_anonymous_users_are_sent_to_login(client, simulated):
    response = client.get("/dashboard/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_annotators_cannot_see_any_dashboard_page(client, make_user, simulated):
    client.force_login(make_user(roles.ANNOTATOR))
    annotation = simulated.annotations.first()
    for url in (
        "/dashboard/",
        f"/dashboard/batches/{simulated.pk}/",
        "/dashboard/audit/",
        f"/dashboard/batches/{simulated.pk}/annotations/",
        f"/dashboard/annotations/{annotation.pk}/",
    ):
        assert client.get(url).status_code == 403, url


def test_reviewer_sees_the_batch_but_no_admin_controls(client, make_user, simulated):
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/batches/{simulated.pk}/").content.decode()
    assert "Inter-annotator agreement" in html and "Generator comparison" in html
    assert 'name="action"' not in html
    review = client.get(
        f"/dashboard/batches/{simulated.pk}/annotators/"
        f"{simulated.annotations.first().annotator_id}/review/"
    )
    assert review.status_code == 200 and "Reject work" not in review.content.decode()


def test_random_clicker_is_flagged_and_careful_annotators_are_not(client, make_user, simulated):
    client.force_login(make_user(roles.ADMIN))
    html = client.get(f"/dashboard/batches/{simulated.pk}/").content.decode()
    rows = _annotator_rows(html)
    assert len(rows) == 6
    clicker = rows.pop("sim-clicker06")
    assert "⚑" in clicker and ("agreement" in clicker or "gold accuracy" in clicker)
    for name, row in rows.items():
        assert "⚑" not in row, name
    # Admins get the lifecycle buttons of a published batch.
    assert 'value="pause"' in html and 'value="complete"' in html


def test_overview_lists_progress_of_every_batch(client, make_user, simulated):
    client.force_login(make_user(roles.REVIEWER))
    html = client.get("/dashboard/").content.decode()
    assert "sim</a>" in html and "<svg" in html
    progress = simulated.pairs.filter(is_gold=False).count() * simulated.overlap
    assert re.search(rf"\d+ / {progress}</td>", html)


def test_undefined_alpha_is_shown_as_na_not_a_crash(client, make_user):
    batch = BatchFactory(name="same", overlap=2)
    PairFactory(batch=batch)
    for name in ("u1", "u2"):
        claim_and_submit(make_user(roles.ANNOTATOR, username=name))
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    # Nobody marked any harm: every harm answer is "absent", alpha is undefined.
    row = re.search(r"S1 Adult, Explicit Sexual Content</td>(.*?)</tr>", html, flags=re.S)
    cells = re.findall(r'<td class="num">([^<]*)</td>', row.group(1))
    assert cells[:2] == ["n/a", "100.0%"]
    assert "2 / 2" in html  # judgements done / needed


def test_dashboard_query_count_does_not_grow_with_annotators(
    client, make_user, simulated, django_assert_max_num_queries
):
    client.force_login(make_user(roles.ADMIN))
    with django_assert_max_num_queries(20):
        assert client.get(f"/dashboard/batches/{simulated.pk}/").status_code == 200


def test_reviewer_views_an_annotation_beside_its_videos(client, make_user, simulated):
    annotation = simulated.annotations.filter(is_gold=True).select_related("pair").first()
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/annotations/{annotation.pk}/").content.decode()
    pair = annotation.pair
    for video in (pair.video_0, pair.video_1):
        assert f"/media/v/{video.uid}/video.mp4" in html
        assert f"/media/v/{video.uid}/poster.jpg" in html
    assert pair.prompt.text in html and annotation.helpfulness in html
    # The reviewer sees the gold score, never the expected gold answer itself.
    assert "gold pair, score" in html and "gold_answer" not in html


def test_annotation_list_filters_by_annotator(client, make_user, simulated):
    clicker = simulated.annotations.filter(annotator__username="sim-clicker06").first()
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(
        f"/dashboard/batches/{simulated.pk}/annotations/", {"annotator": clicker.annotator_id}
    ).content.decode()
    names = set(re.findall(r"<td>(sim-[a-z]+\d+)</td>", html))
    assert names == {"sim-clicker06"}


def test_audit_log_shows_who_did_what(client, make_user, simulated):
    from annotation_server.batches import lifecycle

    admin = make_user(roles.ADMIN, username="chief")
    lifecycle.batch_pause(batch=simulated, actor=admin)
    client.force_login(make_user(roles.REVIEWER))
    html = client.get("/dashboard/audit/").content.decode()
    assert re.search(r"<td>chief</td><td>batch.pause</td>", html)


def test_audit_log_lists_who_exported_what(client, make_user, db):
    from annotation_server.exports.models import Export

    Export.objects.create(
        owner=make_user(roles.ADMIN, username="exporter"), kind="preference", batch_names=["pilot"]
    )
    client.force_login(make_user(roles.REVIEWER))
    html = client.get("/dashboard/audit/").content.decode()
    assert re.search(
        r"<td>exporter</td><td>Preference pairs \(SafeSora\)</td>\s*<td>pilot</td>", html
    )


@pytest.mark.parametrize("role", [roles.ANNOTATOR, roles.REVIEWER])
def test_annotators_and_reviewers_cannot_start_an_export(client, make_user, role):
    from annotation_server.exports.models import Export

    BatchFactory(name="to-export")
    client.force_login(make_user(role))
    response = client.post(
        "/admin/exports/export/add/",
        {
            "kind": "preference",
            "test_fraction": "0.1",
            "seed": "0",
            "videos": "none",
            "min_annotations": "1",
        },
    )
    assert response.status_code in (302, 403)
    assert not Export.objects.exists()


def test_transcoding_progress_of_a_batch_being_prepared(client, make_user):
    from annotation_server.catalog.models import Video

    batch = BatchFactory(name="incoming", status="processing")
    pairs = [PairFactory(batch=batch) for _ in range(3)]
    Video.objects.filter(pk=pairs[0].video_0_id).update(status="processing")
    Video.objects.filter(pk=pairs[1].video_1_id).update(status="failed", failure_reason="bad")
    client.force_login(make_user(roles.REVIEWER))
    html = client.get("/dashboard/").content.decode()
    row = re.search(r"incoming</a>(.*?)</tr>", html, flags=re.S).group(1)
    assert "4 / 6 ready" in row and "1 transcoding" in row and "1 failed" in row
    page = client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert "<b>4 / 6</b><span>videos ready, 1 transcoding" in page


def test_reviewers_land_on_the_dashboard_after_login(client, make_user):
    client.force_login(make_user(roles.REVIEWER))
    assert client.get("/")["Location"] == "/dashboard/"


def test_progress_counts_kept_annotations_capped_at_k(client, make_user):
    """Done = kept (not rejected) judgements of regular active pairs, at most K per pair."""
    batch = BatchFactory(name="progress", overlap=2)
    over, half, untouched = (PairFactory(batch=batch) for _ in range(3))
    gold = PairFactory(batch=batch, is_gold=True, gold_answer={"helpfulness": "video_0"})
    workers = [make_user(roles.ANNOTATOR, username=f"w{i}") for i in range(3)]
    for worker in workers:  # three judgements of a pair that needs two: counts as two
        annotate(over, worker)
    annotate(half, workers[0])
    annotate(half, workers[1], rejected=True)  # rejected work does not count
    annotate(gold, workers[2], is_gold=True, gold_score=1.0)  # gold pairs are not progress
    [progress] = batch_progress_list(batches=[batch])
    assert (progress.pairs, progress.needed) == (3, 6)
    assert (progress.done, progress.complete_pairs, progress.remaining) == (3, 1, 3)
    assert untouched.annotations.count() == 0
    client.force_login(make_user(roles.REVIEWER))
    html = client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert "3 / 6</b>" in html and "1 / 3</b>" in html  # judgements, complete pairs
