"""Crowd-platform entry links: Prolific and generic external ids, status and completion."""

from __future__ import annotations

import pytest

from annotation_server.accounts import roles
from annotation_server.accounts.models import ExternalIdentity
from annotation_server.assignments.claim import assignment_claim_next
from annotation_server.assignments.models import Assignment
from annotation_server.batches import lifecycle
from annotation_server.batches.models import Pair
from annotation_server.core.exceptions import ApplicationError
from tests.factories import BatchFactory, PairFactory
from tests.quality.work import claim_and_submit

PID = "5f1a2b3c4d5e6f7a8b9c0d1e"


@pytest.fixture
def study(db):
    batch = BatchFactory(name="study", overlap=1)
    for _ in range(3):
        PairFactory(batch=batch)
    return lifecycle.batch_entry_configure(
        batch=batch, actor=None, enabled=True, pairs_required=2, completion_code="C0DE42"
    )


def _enter(client, study, pid=PID, **extra):
    params = {"PROLIFIC_PID": pid, "STUDY_ID": "study1", "SESSION_ID": "sess1", **extra}
    return client.get(f"/entry/prolific/{study.entry_token}/", params)


def test_prolific_worker_gets_a_passwordless_annotator_account_and_lands_on_work(client, study):
    response = _enter(client, study)
    assert response.status_code == 302 and response["Location"] == "/work/"
    identity = ExternalIdentity.objects.select_related("user").get()
    user = identity.user
    assert (identity.provider, identity.external_id, identity.batch) == ("prolific", PID, study)
    assert (identity.study_id, identity.session_id) == ("study1", "sess1")
    assert roles.is_annotator(user) and not user.has_usable_password()
    assert not user.is_staff
    status = client.get("/api/v1/entry/status/").json()
    assert status == {
        "batch": "study",
        "submitted": 0,
        "required": 2,
        "complete": False,
        "completion_url": None,
        "finish_url": "/entry/complete/",
    }


def test_returning_worker_gets_the_same_account(client, study):
    _enter(client, study)
    client.logout()
    _enter(client, study, SESSION_ID="sess2")
    assert ExternalIdentity.objects.count() == 1
    assert ExternalIdentity.objects.get().session_id == "sess2"


def test_completion_after_the_required_pairs_redirects_to_prolific(client, study):
    _enter(client, study)
    worker = ExternalIdentity.objects.get().user
    claim_and_submit(worker)
    early = client.get("/entry/complete/")
    assert early.status_code == 409
    assert "Please submit 1 more pair(s)" in early.content.decode()
    claim_and_submit(worker)
    status = client.get("/api/v1/entry/status/").json()
    assert status["complete"] is True
    assert status["completion_url"] == "https://app.prolific.com/submissions/complete?cc=C0DE42"
    done = client.get("/entry/complete/")
    assert done.status_code == 302 and done["Location"] == status["completion_url"]
    assert ExternalIdentity.objects.get().completed_at is not None
    # Coming back through the link after finishing goes straight to the completion page.
    client.logout()
    again = _enter(client, study)
    assert again["Location"] == "/entry/complete/"


def test_finishing_gives_back_the_pair_prefetched_after_the_last_one(client, study, make_user):
    _enter(client, study)
    worker = ExternalIdentity.objects.get().user
    claim_and_submit(worker)
    claim_and_submit(worker)
    # The app prefetches while the last required pair is on screen: one more is open.
    prefetched = assignment_claim_next(annotator=worker)
    assert prefetched is not None
    pair = Pair.objects.get(pk=prefetched.pair_id)
    assert pair.taken == 1  # overlap 1: nobody else can have it

    assert client.get("/entry/complete/").status_code == 302

    prefetched.refresh_from_db()
    assert prefetched.status == Assignment.Status.EXPIRED
    pair.refresh_from_db()
    assert pair.taken == 0
    other = make_user()
    assert assignment_claim_next(annotator=other).pair_id == pair.pk


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"PROLIFIC_PID": ""}, "missing the worker id"),
        ({"PROLIFIC_PID": "<script>"}, "worker id in the link is not valid"),
        ({"PROLIFIC_PID": "x" * 65}, "worker id in the link is not valid"),
        ({"STUDY_ID": "../../etc"}, "study id in the link is not valid"),
    ],
)
def test_bad_links_get_a_clear_message_and_create_nothing(client, study, params, message):
    response = _enter(client, study, **params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not ExternalIdentity.objects.exists()
    assert "_auth_user_id" not in client.session


def test_unknown_disabled_or_closed_study_links_are_refused(client, study):
    assert client.get("/entry/prolific/not-a-token/", {"PROLIFIC_PID": PID}).status_code == 404
    lifecycle.batch_pause(batch=study, actor=None)
    paused = _enter(client, study)
    assert paused.status_code == 409 and "not taking answers" in paused.content.decode()
    lifecycle.batch_resume(batch=study, actor=None)
    lifecycle.batch_entry_configure(batch=study, actor=None, enabled=False)
    assert _enter(client, study).status_code == 404
    assert not ExternalIdentity.objects.exists()


def test_generic_external_id_link_accepts_mturk_parameters(client, study):
    lifecycle.batch_entry_configure(
        batch=study, actor=None, enabled=True, completion_url="https://example.org/done?code=XYZ"
    )
    response = client.get(
        f"/entry/external/{study.entry_token}/",
        {"workerId": "A1B2C3D4E5F6G7", "assignmentId": "3ABC"},
    )
    assert response["Location"] == "/work/"
    identity = ExternalIdentity.objects.get()
    assert (identity.provider, identity.external_id) == ("external", "A1B2C3D4E5F6G7")
    for _ in range(2):
        claim_and_submit(identity.user)
    assert client.get("/entry/complete/")["Location"] == "https://example.org/done?code=XYZ"


def test_entry_worker_is_a_plain_annotator_without_admin_or_dashboard_access(client, study):
    _enter(client, study)
    assert client.get("/dashboard/").status_code == 403
    assert client.get("/admin/").status_code == 302  # to the admin login


def test_status_endpoint_is_only_for_entry_workers(client, make_user):
    client.force_login(make_user(roles.ANNOTATOR))
    response = client.get("/api/v1/entry/status/")
    assert response.status_code == 404 and response.json()["code"] == "not_entry_worker"
    client.logout()
    assert client.get("/api/v1/entry/status/").status_code in (401, 403)


def test_enabling_entry_needs_a_goal_and_a_completion_target(db):
    batch = BatchFactory()
    with pytest.raises(ApplicationError, match="how many pairs"):
        lifecycle.batch_entry_configure(batch=batch, actor=None, enabled=True)
    with pytest.raises(ApplicationError, match="completion code or a completion URL"):
        lifecycle.batch_entry_configure(batch=batch, actor=None, enabled=True, pairs_required=3)
    with pytest.raises(ApplicationError, match="must start with https://"):
        lifecycle.batch_entry_configure(
            batch=batch,
            actor=None,
            enabled=True,
            pairs_required=3,
            completion_url="javascript:alert(1)",
        )


def test_a_study_link_never_opens_an_account_with_more_rights(client, study):
    _enter(client, study)
    user = ExternalIdentity.objects.get().user
    user.is_staff = True
    user.save()
    client.logout()
    response = _enter(client, study)
    assert response.status_code == 400
    assert "cannot sign in through a study link" in response.content.decode()
    assert "_auth_user_id" not in client.session
