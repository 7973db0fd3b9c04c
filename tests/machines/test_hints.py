"""Hints: a machine verdict shown to the worker on a seeded half of a classification batch's
items, never on gold; recorded per assignment; the machines page's anchoring card (PostgreSQL,
the real claim API)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair
from annotation_server.machines.anchoring import Answer, anchoring
from annotation_server.machines.annotators import machine_annotator_save
from annotation_server.machines.hints import batch_hints_set, is_hinted
from annotation_server.machines.routing_models import BatchHints, HintShown
from tests.assignments.workload import NEXT, client_for, make_items, statements_run, submit
from tests.factories import VideoFactory

pytestmark = pytest.mark.django_db

HARMFUL = {"harmful": True, "categories": ["violence"]}
HARMLESS = {"harmful": False, "categories": []}
UNPARSEABLE = {"harmful": None, "categories": None}


def version(name: str = "hint-vlm"):
    annotator, _ = machine_annotator_save(
        name=name, base_url="http://127.0.0.1:9/v1", model=name, api_key_env="HINT_KEY"
    )
    return annotator


def verdict(annotator, item: Pair, answer: dict) -> None:
    ExternalAnnotation.objects.create(
        pair=item, batch=item.batch, source=annotator.source,
        source_annotator=annotator.source_annotator, taxonomy=item.batch.taxonomy,
        answer=answer, details={"status": "ok" if answer["harmful"] is not None else "unparseable"},
    )  # fmt: skip


def claim(client, **body) -> dict | None:
    response = client.post(NEXT, body, format="json")
    if response.status_code == 204:
        return None
    assert response.status_code == 200, response.content
    return response.json()


def seed_hinting(*pks: int) -> int:
    """A seed whose draw hints every one of `pks` (so the test sees what happens to them)."""
    return next(s for s in range(10_000) if all(is_hinted(s, pk) for pk in pks))


def test_without_hints_claims_carry_none_and_read_nothing_of_machines(make_user):
    plain, plain_items = make_items(3, overlap=1, name="no-hints")
    off, off_items = make_items(3, overlap=1, name="hints-off")
    v = version()
    for item in [*plain_items, *off_items]:
        verdict(v, item, HARMFUL)
    batch_hints_set(off, annotator=v, enabled=False)
    client = client_for(make_user())
    for batch in (plain, off):  # the first claims read the (empty) setting once
        body = claim(client, batch=batch.name)
        assert body["hint"] is None
        assert submit(client, body["id"], HARMFUL).status_code == 201

    counts = []
    for batch in (plain, off):
        with CaptureQueriesContext(connection) as queries:
            body = claim(client, batch=batch.name)
        assert body["hint"] is None
        run = statements_run(queries.captured_queries)
        assert not [sql for sql in run if "machines_" in sql]
        counts.append(len(run))
        assert submit(client, body["id"], HARMFUL).status_code == 201
    assert counts[0] == counts[1]
    assert not HintShown.objects.exists()


def test_with_hints_exactly_the_seeded_half_shows_the_verdict_and_gold_never(make_user):
    batch, items = make_items(40, overlap=2, gold_rate=1.0, name="hinted")
    gold = Pair.objects.create(
        batch=batch, pair_id="gold", is_gold=True, gold_answer=HARMLESS,
        video_0=VideoFactory(prompt=None, media_type="image", video_text="", duration_s=None),
    )  # fmt: skip
    v, other = version(), version("other-vlm")
    expected_answers = {}
    for k, item in enumerate(items[:-2]):
        answer = HARMFUL if k % 2 else HARMLESS
        verdict(v, item, answer)
        verdict(other, item, HARMLESS if k % 2 else HARMFUL)  # never shown: not the hint
        expected_answers[item.pk] = answer
    verdict(v, items[-2], UNPARSEABLE)  # nothing to show
    verdict(v, gold, HARMFUL)  # a verdict on a gold item: never shown either
    hints = batch_hints_set(batch, annotator=v, enabled=True)
    # The gold item and both items without a usable verdict lie in the hinted half.
    hints.seed = seed_hinting(gold.pk, items[-1].pk, items[-2].pk)
    hints.save()

    seen = {}  # pair pk → the hint its assignment carried
    gold_seen = 0
    for worker in (make_user(), make_user()):
        client = client_for(worker)
        while (body := claim(client)) is not None:
            assignment = Assignment.objects.get(pk=body["id"])
            # Shown again (a reload), the assignment carries the same hint.
            again = client.get(f"/api/v1/assignments/{body['id']}/").json()
            assert again["hint"] == body["hint"]
            if assignment.is_gold:
                gold_seen += 1
                assert body["hint"] is None
            else:
                assert seen.setdefault(assignment.pair_id, body["hint"]) == body["hint"]
            assert submit(client, body["id"], HARMFUL).status_code == 201
    assert gold_seen == 2 and len(seen) == 40

    drawn = {item.pk for item in items if is_hinted(hints.seed, item.pk)}
    hinted = {pk for pk, hint in seen.items() if hint is not None}
    assert hinted == drawn - {items[-1].pk, items[-2].pk}
    assert 10 <= len(hinted) <= 30  # about half
    for pk in hinted:
        assert seen[pk] == {**expected_answers[pk], "by": "machine_annotator"}
    # Exactly the assignments that carried a hint are recorded, with what they showed.
    recorded = list(HintShown.objects.values_list("assignment__pair_id", "hint"))
    assert sorted(recorded) == sorted((pk, seen[pk]) for pk in hinted for _ in range(2))
    assert set(HintShown.objects.values_list("annotator", flat=True)) == {v.pk}

    # Switched off, the next claims carry none (the hinted half included).
    batch_hints_set(batch, enabled=False)
    extra = Pair.objects.create(
        batch=batch, pair_id="late",
        video_0=VideoFactory(prompt=None, media_type="image", video_text="", duration_s=None),
    )  # fmt: skip
    verdict(v, extra, HARMFUL)
    body = claim(client_for(make_user()))
    assert body["hint"] is None


def test_the_command_switches_hints_and_refuses_what_cannot_be(make_user, capsys):
    batch, _ = make_items(2, overlap=1, name="cmd-hints")
    version()
    call_command("batch_hints", batch.name, "--annotator", "hint-vlm@v1", "--on")
    assert "Hints on cmd-hints: on, verdicts of hint-vlm v1" in capsys.readouterr().out
    hints = BatchHints.objects.get(batch=batch)
    assert hints.enabled and hints.annotator.name == "hint-vlm"
    call_command("batch_hints", batch.name, "--off")
    assert "off" in capsys.readouterr().out
    assert not BatchHints.objects.get(batch=batch).enabled
    other, _ = make_items(1, overlap=1, name="cmd-no-version")
    with pytest.raises(Exception, match="need a machine annotator version"):
        call_command("batch_hints", other.name, "--on")
    with pytest.raises(Exception, match="No machine annotator 'nobody'"):
        call_command("batch_hints", other.name, "--annotator", "nobody", "--on")


def test_anchoring_of_constructed_answers_matches_a_hand_count():
    machine = {1: HARMFUL, 2: HARMFUL, 3: HARMLESS, 4: HARMFUL, 5: HARMLESS, 6: HARMFUL}
    harm, none = (True, ["violence"]), (False, [])
    said = {
        # hinted items: 1 (3 of 3 agree), 2 (2 of 3), 3 (3 of 3)
        (1, True): [harm, harm, harm],
        (2, True): [harm, harm, none],
        (3, True): [none, none, none],
        # unhinted items: 4 (1 of 3), 5 (2 of 3), 6 (1 of 2)
        (4, False): [harm, none, none],
        (5, False): [none, none, (True, ["violence", "sexual"])],
        (6, False): [(True, ["sexual"]), none],
    }
    answers = [
        Answer(pair_id=pk, shown=shown, harmful=h, categories=c)
        for (pk, shown), given in said.items()
        for h, c in given
    ]
    harmful, violence, sexual = anchoring(answers, machine, ["harmful", "violence", "sexual"])
    assert (harmful.hinted.agree, harmful.hinted.answers, harmful.hinted.items) == (8, 9, 3)
    # item 6's "sexual" answer says harmful: it agrees on harmful, not on violence
    assert (harmful.unhinted.agree, harmful.unhinted.answers, harmful.unhinted.items) == (4, 8, 3)
    assert harmful.difference == pytest.approx(8 / 9 - 4 / 8)
    # violence, unhinted: item 4 one of 3, item 5 two of 3, item 6 none of 2 (no violence named)
    assert (violence.hinted.agree, violence.unhinted.agree) == (8, 3)
    # sexual: the machine never names it; every answer but two leaves it out
    assert (sexual.hinted.agree, sexual.hinted.answers) == (9, 9)
    assert (sexual.unhinted.agree, sexual.unhinted.answers) == (6, 8)
    low, high = harmful.interval
    assert low <= harmful.difference <= high and low < high
    # The same counts give the same interval (seeded from them).
    assert anchoring(answers, machine, ["harmful"])[0].interval == harmful.interval


@pytest.fixture
def reviewer_client(client, make_user):
    client.force_login(make_user(roles.REVIEWER))
    return client


def card(client, batch) -> str:
    response = client.get(reverse("dashboard-batch-machines", args=[batch.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('<section class="card anchoring"')
    return html[start : html.index("</section>", start)]


def figures(html: str, field: str) -> dict:
    text = re.search(rf'<tr data-field="{field}">(.*?)</tr>', html, re.S).group(1)
    got = {name: int(n) for name, n in re.findall(r'data-n="([\w-]+)">(\d+)<', text)}
    got.update(re.findall(r'data-rate="(\w+)">([^<]+)<', text))
    got["difference"] = re.search(r'data-score="difference"><span class="value">([^<]+)', text)[1]
    return got


def test_the_anchoring_card_counts_what_workers_saw(make_user, reviewer_client):
    batch, items = make_items(24, overlap=3, name="anchored")
    v = version()
    for item in items:
        verdict(v, item, HARMFUL)
    assert 'data-empty="off"' in card(reviewer_client, batch)

    workers = [client_for(make_user()) for _ in range(3)]
    # The first worker answers 6 items before hints are on: seen without a hint, whatever
    # the draw says of those items.
    early = []
    for _ in range(6):
        body = claim(workers[0])
        assert body["hint"] is None
        early.append(body["id"])
        assert submit(workers[0], body["id"], HARMLESS).status_code == 201
    hints = batch_hints_set(batch, annotator=v, enabled=True)
    assert 'data-empty="little"' in card(reviewer_client, batch)

    tally = {True: [0, 0], False: [0, 0]}  # shown → [agreeing with the machine, answers]
    turn = 0
    for _ in early:
        tally[False][1] += 1  # each early answer said harmless: against the machine
    for client in workers:
        while (body := claim(client)) is not None:
            shown = body["hint"] is not None
            # Shown the hint, three answers in four follow it; without, one in four.
            agrees = (turn % 4 != 0) if shown else (turn % 4 == 0)
            turn += 1
            tally[shown][0] += agrees
            tally[shown][1] += 1
            assert submit(client, body["id"], HARMFUL if agrees else HARMLESS).status_code == 201
    assert HintShown.objects.filter(batch=batch).count() == tally[True][1]
    assert tally[True][1] >= 10 and tally[False][1] >= 10
    drawn = {item.pk for item in items if is_hinted(hints.seed, item.pk)}
    assert {s.assignment.pair_id for s in HintShown.objects.select_related("assignment")} <= drawn

    html = card(reviewer_client, batch)
    harmful = figures(html, "harmful")
    assert harmful["hinted-answers"] == tally[True][1]
    assert harmful["unhinted-answers"] == tally[False][1]
    assert harmful["hinted"] == f"{tally[True][0] / tally[True][1] * 100:.1f}%"
    assert harmful["unhinted"] == f"{tally[False][0] / tally[False][1] * 100:.1f}%"
    difference = tally[True][0] / tally[True][1] - tally[False][0] / tally[False][1]
    assert harmful["difference"] == f"{difference * 100:.1f}%"
    low, high = (
        float(x) for x in re.search(r'data-low="([^"]+)" data-high="([^"]+)"', html).groups()
    )
    assert low <= difference <= high
    # Violence is what the machine names with harmful: the same agreement.
    assert figures(html, "violence")["hinted-answers"] == tally[True][1]


def test_the_admin_switches_hints_on_only_with_a_version(admin_client):
    batch, _ = make_items(2, overlap=1, name="admin-hints")
    v = version()
    add = reverse("admin:machines_batchhints_add")
    refused = admin_client.post(add, {"batch": batch.pk, "enabled": "on", "annotator": ""})
    assert "Name the version whose verdict the workers see." in refused.content.decode()
    assert not BatchHints.objects.exists()
    saved = admin_client.post(add, {"batch": batch.pk, "enabled": "on", "annotator": v.pk})
    assert saved.status_code == 302
    hints = BatchHints.objects.get(batch=batch)
    assert hints.enabled and hints.annotator == v
    listing = admin_client.get(reverse("admin:machines_batchhints_changelist"))
    assert "admin-hints" in listing.content.decode()
