"""Who may get new pairs of a batch: not after a rejection; study workers only their study's."""

from __future__ import annotations

import pytest

from annotation_server.accounts.models import ExternalIdentity
from annotation_server.assignments.models import Assignment
from annotation_server.quality.services import annotator_work_reject
from tests.assignments.workload import NEXT, client_for, make_batch, submit

pytestmark = pytest.mark.django_db


def test_rejected_annotator_gets_no_new_pairs_of_that_batch(make_user):
    rejected_in, _ = make_batch(4, priority=5)
    elsewhere, [other_pair] = make_batch(1)
    worker, admin = make_user(), make_user("admin")
    client = client_for(worker)
    first = client.post(NEXT, {}, format="json").json()
    assert first["batch"]["name"] == rejected_in.name
    assert submit(client, first["id"]).status_code == 201

    annotator_work_reject(batch=rejected_in, annotator=worker, actor=admin, note="random clicks")

    # Three pairs of the rejected batch are still free, yet the worker only gets other work.
    response = client.post(NEXT, {}, format="json")
    assert response.status_code == 200
    assert response.json()["batch"]["name"] == elsewhere.name
    assert submit(client, response.json()["id"]).status_code == 201
    assert client.post(NEXT, {}, format="json").status_code == 204
    asked = client.post(NEXT, {"batch": rejected_in.name}, format="json")
    assert asked.status_code == 404
    assert rejected_in.name in asked.json()["detail"]
    assert Assignment.objects.filter(annotator=worker, batch=rejected_in).count() == 1
    # Everyone else still works on the rejected annotator's batch.
    colleague = client_for(make_user()).post(NEXT, {}, format="json")
    assert colleague.json()["batch"]["name"] == rejected_in.name


def test_study_worker_only_gets_pairs_of_their_study_batch(make_user):
    study, study_pairs = make_batch(2)
    busier, _ = make_batch(5, priority=9)
    worker = make_user()
    ExternalIdentity.objects.create(
        provider=ExternalIdentity.Provider.PROLIFIC,
        external_id="5f0c" * 6,
        user=worker,
        batch=study,
    )
    client = client_for(worker)
    claimed = []
    while (response := client.post(NEXT, {}, format="json")).status_code == 200:
        assert response.json()["batch"]["name"] == study.name
        claimed.append(Assignment.objects.get(pk=response.json()["id"]).pair_id)
        assert submit(client, response.json()["id"]).status_code == 201
    assert response.status_code == 204
    assert sorted(claimed) == sorted(p.pk for p in study_pairs)
    assert client.post(NEXT, {"batch": busier.name}, format="json").status_code == 404
    # A regular account still gets the higher-priority batch first.
    regular = client_for(make_user()).post(NEXT, {}, format="json")
    assert regular.json()["batch"]["name"] == busier.name
