"""A second round: a new batch of the items where the crowd split, or where its majority
disagrees with an external source; same question, same items, answered afresh."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotation_server.accounts import roles
from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch
from annotation_server.quality.rounds import batch_new_round, item_agreement
from tests.assignments.workload import NEXT, answers, client_for, make_batch, make_items

pytestmark = pytest.mark.django_db

# Item → the harmful verdict of each of three workers.
VERDICTS = {"img-0": [1, 1, 1], "img-1": [0, 0, 0], "img-2": [1, 1, 0], "img-3": [0, 1, 0]}


def _crowd(make_user, batch, answer_for) -> None:
    """Three workers claim and answer every item of `batch` through the API."""
    for worker in range(3):
        client = client_for(make_user())
        while (claimed := client.post(NEXT, {}, format="json")).status_code == 200:
            assignment = Assignment.objects.select_related("pair").get(pk=claimed.json()["id"])
            body = answer_for(assignment, worker)
            url = f"/api/v1/assignments/{assignment.pk}/submit/"
            assert client.post(url, body, format="json").status_code == 201


@pytest.fixture
def labelled(make_user):
    batch, items = make_items(4, overlap=3, ask_reason=True)
    _crowd(
        make_user,
        batch,
        lambda a, w: {"harmful": bool(VERDICTS[a.pair.pair_id][w]), "categories": []},
    )
    # The release says: item 0 harmless (we say harmful), item 1 harmless, item 2 harmful.
    for item, harmful in zip(items[:3], [False, False, True], strict=True):
        ExternalAnnotation.objects.create(
            pair=item, batch=batch, source="vhd11k", taxonomy=batch.taxonomy,
            answer={"harmful": harmful, "categories": []}, details={"decision": "x"},
        )  # fmt: skip
    return batch, items


def test_items_below_the_agreement_threshold_make_a_ready_batch_that_asks_the_same(
    labelled, make_user
):
    batch, items = labelled
    assert item_agreement(batch) == pytest.approx(
        {items[0].pk: 1, items[1].pk: 1, items[2].pk: 2 / 3, items[3].pk: 2 / 3}
    )
    new = batch_new_round(batch=batch, name="round-2", agreement_below=0.8, overlap=5)
    assert sorted(new.pairs.values_list("pair_id", flat=True)) == ["img-2", "img-3"]
    assert (new.kind, new.taxonomy, new.ask_reason, new.overlap) == (
        "classification", batch.taxonomy, True, 5
    )  # fmt: skip
    assert (new.status, new.derived_from, new.derived_rule["agreement_below"]) == (
        Batch.Status.READY, batch, 0.8
    )  # fmt: skip
    # The release's label of item 2 comes along, for the new round's dashboard.
    assert ExternalAnnotation.objects.filter(batch=new).count() == 1
    assert ExternalAnnotation.objects.filter(batch=batch).count() == 3  # the old ones stay
    # Published, its items are new work, even for the workers of the first round.
    new.status = Batch.Status.PUBLISHED
    new.save()
    again = client_for(Assignment.objects.filter(pair__batch=batch).first().annotator)
    claimed = again.post(NEXT, {}, format="json")
    assert claimed.status_code == 200
    assert Assignment.objects.get(pk=claimed.json()["id"]).pair.batch == new


def test_items_where_our_majority_disagrees_with_a_source(labelled):
    batch, _ = labelled
    new = batch_new_round(batch=batch, name="recheck", disagrees_with="vhd11k")
    assert list(new.pairs.values_list("pair_id", flat=True)) == ["img-0"]
    with pytest.raises(Exception, match="no labels from source 'safesora-label'.*vhd11k"):
        batch_new_round(batch=batch, name="other", disagrees_with="safesora-label")


def test_pairwise_items_split_on_a_verdict_come_back(make_user):
    batch, pairs = make_batch(2, overlap=3)
    split = pairs[0].pk

    def answer(assignment, worker):
        # The stored verdict is video_0 for everybody, except worker 2 on the split pair.
        video_0 = "left" if assignment.left_is_video_0 else "right"
        other = "right" if video_0 == "left" else "left"
        side = other if (assignment.pair_id == split and worker == 2) else video_0
        return answers(helpfulness=side, harmlessness=video_0)

    _crowd(make_user, batch, answer)
    new = batch_new_round(batch=batch, name="pairs-2", agreement_below=0.9)
    assert list(new.pairs.values_list("pair_id", flat=True)) == [pairs[0].pair_id]
    copy = new.pairs.get()
    assert (copy.video_0_id, copy.video_1_id, copy.prompt_id) == (
        pairs[0].video_0_id, pairs[0].video_1_id, pairs[0].prompt_id
    )  # fmt: skip


def test_the_command_names_what_it_made_and_what_is_wrong(labelled):
    out = StringIO()
    call_command("new_round", labelled[0].name, "--name", "r2",
                 "--agreement-below", "0.8", stdout=out)  # fmt: skip
    assert "Batch 'r2': 2 item(s)" in out.getvalue() and "batch publish r2" in out.getvalue()
    with pytest.raises(CommandError, match="No item .* agreement below 50%"):
        call_command("new_round", labelled[0].name, "--name", "r3", "--agreement-below", "0.5")
    with pytest.raises(CommandError, match="already exists"):
        call_command("new_round", labelled[0].name, "--name", "r2", "--agreement-below", "0.8")
    assert not Batch.objects.filter(name="r3").exists()


def test_an_admin_makes_a_round_from_the_dashboard_and_a_reviewer_cannot(
    labelled, client, make_user
):
    batch, _ = labelled
    url = f"/dashboard/batches/{batch.pk}/new-round/"
    client.force_login(make_user(roles.ADMIN))
    page = client.get(f"/dashboard/batches/{batch.pk}/").content.decode()
    assert "Second round" in page and '<option value="vhd11k">' in page
    made = client.post(url, {"name": "r2", "rule": "source", "source": "vhd11k"}, follow=True)
    new = Batch.objects.get(name="r2")
    assert made.redirect_chain[-1][0] == f"/dashboard/batches/{new.pk}/"
    assert "made with 1 item(s)" in made.content.decode()
    refused = client.post(url, {"name": "r3", "agreement_below": "0.2"}, follow=True)
    assert "No item of" in refused.content.decode()
    client.force_login(make_user(roles.REVIEWER))
    assert client.post(url, {"name": "r4", "agreement_below": "0.9"}).status_code == 403
    assert set(Batch.objects.values_list("name", flat=True)) == {batch.name, "r2"}
