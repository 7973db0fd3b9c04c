"""Routing a classification batch: machines first, humans where the machines disagree, are
unsure, have no verdict, or where the audit draws the item (PostgreSQL, the real claim API)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from django.db.models import Count
from django.template.loader import render_to_string

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.counted_sources import batch_source_count
from annotation_server.batches.models import Pair
from annotation_server.core.exceptions import ApplicationError
from annotation_server.machines.annotators import machine_annotator_save
from annotation_server.machines.models import BatchRouting, RoutingDecision
from annotation_server.machines.routing import batch_routing_set, route_batch, routing_summary
from tests.assignments.workload import NEXT, client_for, make_items, submit
from tests.factories import VideoFactory

pytestmark = pytest.mark.django_db

HARMFUL = {"harmful": True, "categories": ["violence"]}
HARMLESS = {"harmful": False, "categories": []}
UNPARSEABLE = {"harmful": None, "categories": None}


def version(name: str):
    annotator, _ = machine_annotator_save(
        name=name, base_url="http://127.0.0.1:9/v1", model=name, api_key_env="ROUTING_KEY"
    )
    return annotator


def verdict(annotator, item: Pair, answer: dict, **details) -> None:
    status = "unparseable" if answer["harmful"] is None else "ok"
    ExternalAnnotation.objects.create(
        pair=item, batch=item.batch, source=annotator.source,
        source_annotator=annotator.source_annotator, taxonomy=item.batch.taxonomy,
        answer=answer, details={"status": status, "reason": "…", **details},
    )  # fmt: skip


def verdicts(annotator, items, answer: dict) -> None:
    ExternalAnnotation.objects.bulk_create(
        ExternalAnnotation(
            pair=item, batch=item.batch, source=annotator.source,
            source_annotator=annotator.source_annotator, taxonomy=item.batch.taxonomy,
            answer=answer, details={"status": "ok"},
        )
        for item in items
    )  # fmt: skip


def claim_all(client) -> list[str]:
    """Claim and answer until the API says nothing is left; the items' pair ids."""
    got = []
    while True:
        response = client.post(NEXT, {}, format="json")
        if response.status_code == 204:
            return got
        assert response.status_code == 200, response.content
        body = response.json()
        got.append(Assignment.objects.get(pk=body["id"]).pair.pair_id)
        assert submit(client, body["id"], HARMFUL).status_code in (200, 201)


@pytest.fixture
def routed_mix():
    """12 items and a gold item, overlap 2, verdicts of two versions: 0–3 harmful by both,
    4–5 harmless by both, 6–7 disagree, 8 unparseable by b, 9 unsure by a, 10–11 none by b."""
    batch, items = make_items(12, overlap=2)
    gold_video = VideoFactory(prompt=None, media_type="image", video_text="", duration_s=None)
    gold = Pair.objects.create(
        batch=batch, video_0=gold_video, pair_id="gold", is_gold=True, gold_answer=HARMFUL
    )
    a, b = version("vlm-a"), version("vlm-b")
    for item in [*items[:4], gold]:
        verdict(a, item, HARMFUL)
        verdict(b, item, HARMFUL)
    for item in items[4:6]:
        verdict(a, item, HARMLESS)
        verdict(b, item, HARMLESS)
    verdict(a, items[6], HARMFUL), verdict(b, items[6], HARMLESS)
    verdict(a, items[7], HARMLESS), verdict(b, items[7], HARMFUL)
    verdict(a, items[8], HARMFUL), verdict(b, items[8], UNPARSEABLE)
    verdict(a, items[9], HARMFUL, unsure=True), verdict(b, items[9], HARMFUL)
    verdict(a, items[10], HARMLESS), verdict(a, items[11], HARMFUL)
    return batch, items, gold, a, b


def decisions(batch) -> dict[str, tuple[bool, str]]:
    return {
        d.pair.pair_id: (d.to_humans, d.reason)
        for d in RoutingDecision.objects.filter(pair__batch=batch).select_related("pair")
    }


def test_routed_items_reach_humans_only_when_machines_disagree_or_are_unsure(
    routed_mix, make_user, capsys
):
    batch, items, gold, a, b = routed_mix

    call_command(
        "route_batch", batch.name, "--annotator", "vlm-a@v1", "--annotator", "vlm-b", "--audit", "0"
    )

    out = capsys.readouterr().out
    assert "Deciding: vlm-a v1, vlm-b v1; audit share 0%" in out
    assert f"Routed {batch.name}: 12 items (1 gold items besides, never routed)" in out
    assert "settled by the machines: 6" in out
    assert "to humans: 6 (disagree 2, unsure 2, missing 2)" in out
    assert "human judgements saved: 12 (6 × overlap 2)" in out
    assert decisions(batch) == {
        **{f"img-{k}": (False, "agree") for k in range(6)},
        "img-6": (True, "disagree"), "img-7": (True, "disagree"),
        "img-8": (True, "unsure"), "img-9": (True, "unsure"),
        "img-10": (True, "missing"), "img-11": (True, "missing"),
    }  # fmt: skip
    gold.refresh_from_db()
    assert gold.credited == 0 and not RoutingDecision.objects.filter(pair=gold).exists()
    settled = RoutingDecision.objects.get(pair=items[0])
    assert settled.verdict == {"harmful": True} and settled.credited == 2

    # Two workers (overlap 2) through the worker API: each gets exactly the six to-humans
    # items, never a settled one; then nothing is left.
    for worker in (make_user(), make_user()):
        assert sorted(claim_all(client_for(worker))) == sorted(f"img-{k}" for k in range(6, 12))
    assert not Assignment.objects.filter(pair__in=items[:6]).exists()
    for item in Pair.objects.filter(batch=batch, is_gold=False):
        assert item.taken == 2, item.pair_id


def test_categories_count_when_the_routing_asks_them_to_agree(make_user):
    batch, items = make_items(2, overlap=1)
    a, b = version("vlm-a"), version("vlm-b")
    for item in items:
        verdict(a, item, {"harmful": True, "categories": ["violence"]})
    verdict(b, items[0], {"harmful": True, "categories": ["violence"]})
    verdict(b, items[1], {"harmful": True, "categories": ["sexual"]})
    batch_routing_set(batch, annotators=[a, b], audit_share=0)
    route_batch(batch)
    assert decisions(batch) == {"img-0": (False, "agree"), "img-1": (False, "agree")}

    batch_routing_set(batch, categories_must_agree=True)
    route_batch(batch)
    assert decisions(batch) == {"img-0": (False, "agree"), "img-1": (True, "disagree")}
    assert claim_all(client_for(make_user())) == ["img-1"]


def test_audit_share_is_about_the_share_asked_and_the_same_on_every_routing():
    batch, items = make_items(400, overlap=3)
    a = version("vlm-a")
    verdicts(a, items, HARMLESS)
    routing = batch_routing_set(batch, annotators=[a])  # the default share: 10 %
    assert routing.audit_share == 0.10
    routing.seed = 20_261_207  # a fixed draw: the share below is the same on every run
    routing.save(update_fields=["seed"])

    outcome = route_batch(batch)
    audited = set(
        RoutingDecision.objects.filter(routing=routing, reason="audit").values_list(
            "pair", flat=True
        )
    )
    assert 0.06 <= len(audited) / 400 <= 0.14
    assert outcome.to_humans["audit"] == len(audited)
    assert outcome.settled == 400 - len(audited) and outcome.saved == 3 * outcome.settled
    assert set(Pair.objects.filter(batch=batch, credited=0).values_list("pk", flat=True)) == audited

    route_batch(batch)
    again = RoutingDecision.objects.filter(routing=routing, reason="audit")
    assert set(again.values_list("pair", flat=True)) == audited

    batch_routing_set(batch, audit_share=0.2)
    route_batch(batch)
    wider = set(
        RoutingDecision.objects.filter(routing=routing, reason="audit").values_list(
            "pair", flat=True
        )
    )
    assert audited < wider and 0.15 <= len(wider) / 400 <= 0.25


def test_routing_again_after_new_verdicts_never_takes_an_item_from_a_human(make_user):
    batch, items = make_items(4, overlap=2)
    a, b = version("vlm-a"), version("vlm-b")
    verdicts(a, items, HARMFUL)
    verdicts(b, items[:2], HARMFUL)
    batch_routing_set(batch, annotators=[a, b], audit_share=0)
    route_batch(batch)
    assert decisions(batch) == {
        "img-0": (False, "agree"), "img-1": (False, "agree"),
        "img-2": (True, "missing"), "img-3": (True, "missing"),
    }  # fmt: skip
    worker = client_for(make_user())
    claimed = worker.post(NEXT, {}, format="json").json()  # a human starts on one of them
    started = Assignment.objects.get(pk=claimed["id"]).pair
    assert started.pair_id in ("img-2", "img-3")

    verdicts(b, items[2:], HARMFUL)  # b's run finishes
    outcome = route_batch(batch)

    other = "img-3" if started.pair_id == "img-2" else "img-2"
    assert decisions(batch) == {
        "img-0": (False, "agree"), "img-1": (False, "agree"),
        started.pair_id: (True, "agree"), other: (False, "agree"),
    }  # fmt: skip
    assert outcome.started == 1 and outcome.settled == 3
    assert RoutingDecision.objects.get(pair=started).started
    started.refresh_from_db()
    assert (started.taken, started.credited) == (1, 0)
    # The human keeps it and answers it; one more human is still wanted on it.
    assert submit(worker, claimed["id"], HARMFUL).status_code in (200, 201)
    assert claim_all(client_for(make_user())) == [started.pair_id]

    # A third version that disagrees on img-0 sends it back to humans.
    c = version("vlm-c")
    verdicts(c, items, HARMFUL)
    ExternalAnnotation.objects.filter(source=c.source, pair=items[0]).update(answer=HARMLESS)
    batch_routing_set(batch, annotators=[a, b, c])
    route_batch(batch)
    assert decisions(batch)["img-0"] == (True, "disagree")
    items[0].refresh_from_db()
    assert (items[0].taken, items[0].credited) == (0, 0)
    assert claim_all(client_for(make_user())) == ["img-0"]


def test_a_dry_run_changes_nothing(routed_mix, capsys):
    batch, items, gold, a, b = routed_mix
    call_command("route_batch", batch.name, "--annotator", "vlm-a@1", "--dry-run")
    out = capsys.readouterr().out
    assert f"Would route {batch.name}: 12 items" in out
    assert not RoutingDecision.objects.exists()
    assert not Pair.objects.filter(credited__gt=0).exists()
    assert not BatchRouting.objects.filter(batch=batch, annotators__isnull=False).exists()


def test_what_cannot_be_routed_is_refused_with_a_reason(routed_mix):
    batch, items, gold, a, b = routed_mix
    with pytest.raises(CommandError, match="has no routing"):
        call_command("route_batch", batch.name)
    with pytest.raises(CommandError, match="No machine annotator 'nobody'"):
        call_command("route_batch", batch.name, "--annotator", "nobody@v1")
    with pytest.raises(CommandError, match="between 0 and 1"):
        call_command("route_batch", batch.name, "--annotator", "vlm-a", "--audit", "1.5")
    batch.counted_sources = ["vhd11k"]
    batch.save(update_fields=["counted_sources"])
    with pytest.raises(CommandError, match="would overwrite those credits"):
        call_command("route_batch", batch.name, "--annotator", "vlm-a")


def test_a_routed_batch_refuses_a_counted_source_and_keeps_its_settled_items(routed_mix):
    batch, items, gold, a, b = routed_mix
    ExternalAnnotation.objects.create(
        pair=items[0], batch=batch, source="vhd11k", source_annotator="judge",
        taxonomy=batch.taxonomy, answer=HARMFUL,
    )  # fmt: skip
    batch_routing_set(batch, annotators=[a, b], audit_share=0)
    route_batch(batch)
    settled = set(Pair.objects.filter(batch=batch, credited=2).values_list("pk", flat=True))
    with pytest.raises(ApplicationError, match="routed by machine annotators"):
        batch_source_count(batch=batch, source="vhd11k")
    batch.refresh_from_db()
    assert batch.counted_sources == []
    assert (
        set(Pair.objects.filter(batch=batch, credited=2).values_list("pk", flat=True)) == (settled)
        and len(settled) == 6
    )


def test_the_summary_measures_machines_against_workers_on_audit_items(make_user):
    batch, items = make_items(4, overlap=3)
    a = version("vlm-a")
    verdicts(a, items, HARMFUL)
    batch_routing_set(batch, annotators=[a], audit_share=1.0)  # every agreeing item audited
    route_batch(batch, by="lead")
    # Workers: harmful on img-0 and img-1 (machines right), harmless on img-2 (wrong),
    # a tie on img-3 with two answers (not judged).
    answers = {
        "img-0": [HARMFUL] * 3, "img-1": [HARMFUL, HARMFUL, HARMLESS],
        "img-2": [HARMLESS] * 3, "img-3": [HARMFUL, HARMLESS],
    }  # fmt: skip
    workers = [client_for(make_user()) for _ in range(3)]
    for n, worker in enumerate(workers):
        while (response := worker.post(NEXT, {}, format="json")).status_code == 200:
            body = response.json()
            item = Assignment.objects.get(pk=body["id"]).pair.pair_id
            given = answers[item]
            if n < len(given):
                assert submit(worker, body["id"], given[n]).status_code in (200, 201)
            else:
                skip = f"/api/v1/assignments/{body['id']}/skip/"
                assert worker.post(skip, {"reason": "unsure"}, format="json").status_code < 300

    summary = routing_summary(batch)
    assert (summary.items, summary.settled, summary.to_humans["audit"], summary.saved) == (
        4, 0, 4, 0,
    )  # fmt: skip
    assert (summary.audit_items, summary.audit_judged, summary.audit_agree) == (4, 3, 2)
    html = render_to_string("machines/_routing.html", {"routing": summary})
    assert "vlm-a v1" in html and "by lead" in html
    assert "66.7 %" in html or "66.7%" in html
    assert '<b class="routing-saved">0</b>' in html


def test_the_admin_routes_and_shows_the_summary(routed_mix, make_user, client):
    batch, items, gold, a, b = routed_mix
    routing = batch_routing_set(batch, annotators=[a, b], audit_share=0)
    client.force_login(make_user(role="admin"))  # the admin role, not a superuser
    page = client.get(f"/admin/machines/batchrouting/{routing.pk}/change/")
    assert page.status_code == 200 and "Not routed yet" in page.content.decode()

    done = client.post(
        "/admin/machines/batchrouting/",
        {"action": "route_now", "_selected_action": [routing.pk]},
        follow=True,
    )
    assert "settled by the machines: 6" in done.content.decode()
    page = client.get(f"/admin/machines/batchrouting/{routing.pk}/change/").content.decode()
    assert '<b class="routing-settled">6 / 12</b>' in page
    assert '<b class="routing-saved">12</b>' in page
    assert 'data-reason="disagree"><td>Machines disagree</td><td class="num">2</td>' in page

    # The batch's machines page shows the same card beside the agreement figures.
    dashboard = client.get(f"/dashboard/batches/{batch.pk}/machines/").content.decode()
    assert 'id="routing"' in dashboard and '<b class="routing-saved">12</b>' in dashboard


THREADS, ITEMS, K = 10, 30, 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_clients_never_receive_a_settled_item_and_fill_the_rest_exactly(make_user):
    assert connection.vendor == "postgresql", "the concurrency tests need PostgreSQL"
    batch, items = make_items(ITEMS, overlap=K)
    a, b = version("vlm-a"), version("vlm-b")
    verdicts(a, items, HARMFUL)
    verdicts(b, items[: ITEMS // 2], HARMFUL)  # the rest: b has no verdict, to humans
    routing = batch_routing_set(batch, annotators=[a, b])
    BatchRouting.objects.filter(pk=routing.pk).update(seed=7)  # a fixed audit draw
    route_batch(batch)
    settled = set(RoutingDecision.objects.filter(to_humans=False).values_list("pair_id", flat=True))
    to_humans = {item.pk for item in items} - settled
    assert settled and len(to_humans) >= ITEMS // 2
    clients = [client_for(make_user()) for _ in range(THREADS)]
    seen, errors, lock = Counter(), [], threading.Lock()
    start = threading.Barrier(THREADS)

    def work(client) -> None:
        try:
            start.wait()
            while True:
                response = client.post(NEXT, {}, format="json")
                if response.status_code != 200:
                    with lock:
                        seen[response.status_code] += 1
                    return
                body = response.json()
                with lock:
                    seen[200] += 1
                assert submit(client, body["id"], HARMFUL).status_code in (200, 201)
        except Exception as error:  # recorded, so the assertion shows it
            with lock:
                errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == [] and set(seen) == {200, 204}
    per_item = dict(Annotation.objects.values_list("pair").annotate(n=Count("id")))
    assert per_item == dict.fromkeys(to_humans, K)
    assert not Assignment.objects.filter(pair__in=settled).exists()
    for item in Pair.objects.filter(batch=batch):
        expected = (K, K) if item.pk in settled else (K, 0)
        assert (item.taken, item.credited) == expected, item.pair_id


@pytest.mark.django_db(transaction=True)
def test_routing_while_workers_claim_never_credits_an_item_a_human_holds(make_user):
    """Routing runs in the middle of a claim race: every item ends either settled by the
    machines with no human on it, or answered by exactly K workers."""
    assert connection.vendor == "postgresql", "the concurrency tests need PostgreSQL"
    batch, items = make_items(ITEMS, overlap=K)
    a = version("vlm-a")
    verdicts(a, items, HARMLESS)
    batch_routing_set(batch, annotators=[a], audit_share=0)
    clients = [client_for(make_user()) for _ in range(THREADS)]
    errors, lock = [], threading.Lock()
    claims, routed = Counter(), threading.Event()
    start = threading.Barrier(THREADS + 1)

    def work(client) -> None:
        try:
            start.wait()
            while True:
                response = client.post(NEXT, {}, format="json")
                if response.status_code == 204:
                    if routed.is_set():
                        return
                    routed.wait(timeout=120)  # rows being settled were skipped: look again
                    continue
                assert response.status_code == 200, response.content
                with lock:
                    claims[200] += 1
                assert submit(client, response.json()["id"], HARMLESS).status_code in (200, 201)
        except Exception as error:  # recorded, so the assertion shows it
            with lock:
                errors.append(repr(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    start.wait()
    while True:  # route once the workers have started on some items
        with lock:
            if claims[200] >= ITEMS // 3:
                break
        threading.Event().wait(0.005)
    try:
        outcome = route_batch(batch)
    finally:
        routed.set()
    for thread in threads:
        thread.join(timeout=300)

    assert errors == []
    assert 0 < outcome.settled < ITEMS and outcome.started > 0
    per_item = dict(Annotation.objects.values_list("pair").annotate(n=Count("id")))
    settled = set(RoutingDecision.objects.filter(to_humans=False).values_list("pair", flat=True))
    assert settled.isdisjoint(per_item)
    assert not Assignment.objects.filter(pair__in=settled).exists()
    assert per_item == dict.fromkeys({item.pk for item in items} - settled, K)
    for item in Pair.objects.filter(batch=batch):
        expected = (K, K) if item.pk in settled else (K, 0)
        assert (item.taken, item.credited) == expected, item.pair_id
