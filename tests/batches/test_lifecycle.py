"""Batch lifecycle: each transition through services, the admin, the dashboard and the CLI."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import CommandError, call_command

from annotation_server.accounts import roles
from annotation_server.batches import lifecycle
from annotation_server.batches.models import Batch
from annotation_server.catalog.models import Video
from annotation_server.core.exceptions import ApplicationError, ForbiddenError
from annotation_server.core.models import AuditEvent
from tests.factories import BatchFactory, PairFactory


def _batch(status="ready", **kwargs) -> Batch:
    batch = BatchFactory(status=status, **kwargs)
    PairFactory(batch=batch)
    return batch


@pytest.mark.parametrize(
    ("start", "action", "end"),
    [
        ("ready", "publish", "published"),
        ("draft", "publish", "published"),
        ("completed", "publish", "published"),
        ("published", "pause", "paused"),
        ("paused", "resume", "published"),
        ("published", "complete", "completed"),
        ("paused", "complete", "completed"),
        ("completed", "archive", "archived"),
        ("paused", "archive", "archived"),
    ],
)
def test_each_transition_moves_the_batch_and_is_audited(db, make_user, start, action, end):
    admin = make_user(roles.ADMIN)
    batch = _batch(start)
    lifecycle.LIFECYCLE_ACTIONS[action](batch=batch, actor=admin)
    batch.refresh_from_db()
    assert batch.status == end
    event = AuditEvent.objects.get(verb=f"batch.{action}")
    assert (event.actor, event.batch, event.details["to"]) == (admin, batch, end)


@pytest.mark.parametrize(
    ("start", "action"),
    [
        ("published", "publish"),
        ("ready", "pause"),
        ("published", "resume"),
        ("ready", "complete"),
        ("published", "archive"),
        ("archived", "publish"),
    ],
)
def test_illegal_transitions_are_refused_with_the_way_forward(db, make_user, start, action):
    batch = _batch(start)
    with pytest.raises(ApplicationError) as refused:
        lifecycle.LIFECYCLE_ACTIONS[action](batch=batch, actor=make_user(roles.ADMIN))
    batch.refresh_from_db()
    assert batch.status == start
    assert f"is {Batch.Status(start).label.lower()}" in refused.value.message
    assert not AuditEvent.objects.exists()


def test_publish_waits_for_transcoding_and_needs_pairs(db, make_user):
    admin = make_user(roles.ADMIN)
    batch = _batch("processing")
    Video.objects.filter(pk=batch.pairs.get().video_0_id).update(status="processing")
    with pytest.raises(ApplicationError, match="still being transcoded"):
        lifecycle.batch_publish(batch=batch, actor=admin)
    empty = BatchFactory(status="ready")
    with pytest.raises(ApplicationError, match="no active regular pairs"):
        lifecycle.batch_publish(batch=empty, actor=admin)
    assert Batch.objects.get(pk=empty.pk).status == "ready"


@pytest.mark.parametrize("role", [roles.ANNOTATOR, roles.REVIEWER])
def test_annotators_and_reviewers_cannot_change_batches(db, make_user, role):
    user = make_user(role)
    batch = _batch("ready")
    with pytest.raises(ForbiddenError):
        lifecycle.batch_publish(batch=batch, actor=user)
    with pytest.raises(ForbiddenError):
        lifecycle.batch_settings_update(batch=batch, actor=user, changes={"priority": 9})
    batch.refresh_from_db()
    assert (batch.status, batch.priority) == ("ready", 0)


def test_dashboard_lifecycle_buttons_are_for_admins_only(client, make_user):
    batch = _batch("ready")
    for role in (roles.REVIEWER, roles.ANNOTATOR):
        client.force_login(make_user(role))
        response = client.post(f"/dashboard/batches/{batch.pk}/lifecycle/", {"action": "publish"})
        assert response.status_code == 403
    batch.refresh_from_db()
    assert batch.status == "ready"
    client.force_login(make_user(roles.ADMIN))
    response = client.post(
        f"/dashboard/batches/{batch.pk}/lifecycle/", {"action": "publish"}, follow=True
    )
    batch.refresh_from_db()
    assert batch.status == "published"
    assert "is now published" in response.content.decode()


def test_admin_action_publishes_and_pauses_selected_batches(client, make_user):
    one, two = _batch("ready"), _batch("ready")
    admin_user = make_user(roles.ADMIN)
    # The admin role group has no model permissions by default: give the changelist view.
    admin_user.user_permissions.add(Permission.objects.get(codename="view_batch"))
    client.force_login(admin_user)
    url = "/admin/batches/batch/"
    response = client.post(
        url, {"action": "batch_publish", "_selected_action": [one.pk, two.pk]}, follow=True
    )
    assert response.status_code == 200
    assert {b.status for b in Batch.objects.filter(pk__in=[one.pk, two.pk])} == {"published"}
    client.post(url, {"action": "batch_pause", "_selected_action": [one.pk]})
    assert Batch.objects.get(pk=one.pk).status == "paused"


def test_reviewer_with_admin_view_rights_still_cannot_run_lifecycle_actions(client, make_user):
    batch = _batch("ready")
    reviewer = make_user(roles.REVIEWER)
    reviewer.user_permissions.add(Permission.objects.get(codename="view_batch"))
    client.force_login(reviewer)
    client.post(
        "/admin/batches/batch/", {"action": "batch_publish", "_selected_action": [batch.pk]}
    )
    batch.refresh_from_db()
    assert batch.status == "ready"


def test_settings_change_is_validated_and_audited(db, make_user):
    admin = make_user(roles.ADMIN)
    batch = _batch("published")
    changed = lifecycle.batch_settings_update(
        batch=batch,
        actor=admin,
        changes={"priority": "5", "overlap": 4, "gold_rate": 0.2, "blur_videos": "on"},
    )
    batch.refresh_from_db()
    assert (batch.priority, batch.overlap, batch.gold_rate, batch.blur_videos) == (5, 4, 0.2, True)
    assert changed["overlap"] == (3, 4)
    event = AuditEvent.objects.get(verb="batch.settings")
    assert event.details["priority"] == {"old": 0, "new": 5}
    with pytest.raises(ApplicationError, match="gold_rate must be between 0 and 1"):
        lifecycle.batch_settings_update(batch=batch, actor=admin, changes={"gold_rate": 2})
    with pytest.raises(ApplicationError, match="Unknown setting"):
        lifecycle.batch_settings_update(batch=batch, actor=admin, changes={"status": "x"})
    batch.refresh_from_db()
    assert batch.gold_rate == 0.2


def test_batch_command_runs_every_action_and_prints_status(db):
    batch = _batch("ready", name="campaign-7")
    out = StringIO()
    for action, status in [
        ("publish", "published"),
        ("pause", "paused"),
        ("resume", "published"),
        ("complete", "completed"),
        ("archive", "archived"),
    ]:
        call_command("batch", action, "campaign-7", stdout=out)
        batch.refresh_from_db()
        assert batch.status == status
    call_command("batch", "status", "campaign-7", stdout=out)
    text = out.getvalue()
    assert "status:       archived" in text and "0/3 judgements" in text
    # Shell commands are audited without a user.
    assert AuditEvent.objects.filter(actor=None, verb="batch.archive").exists()


def test_batch_command_explains_mistakes(db):
    _batch("archived", name="old")
    with pytest.raises(CommandError, match="No batch named 'nope'. Known batches: old"):
        call_command("batch", "publish", "nope")
    with pytest.raises(CommandError, match="Archived batches are final"):
        call_command("batch", "publish", "old")


def test_batch_command_set_and_entry(db):
    batch = _batch("published", name="crowd")
    out = StringIO()
    call_command("batch", "set", "crowd", "--priority", "3", "--must-watch", "off", stdout=out)
    call_command("batch", "entry", "crowd", "--pairs", "5", "--code", "C0DE42", stdout=out)
    Group.objects.create(name="experts")
    call_command("batch", "set", "crowd", "--groups", "experts", stdout=out)
    assert list(batch.groups.values_list("name", flat=True)) == ["experts"]
    with pytest.raises(CommandError, match="No such group"):
        call_command("batch", "set", "crowd", "--groups", "experts,nobody")
    call_command("batch", "set", "crowd", "--groups", "", stdout=out)
    assert not batch.groups.exists()
    batch.refresh_from_db()
    assert (batch.priority, batch.must_watch) == (3, False)
    assert batch.entry_enabled and batch.entry_pairs_required == 5
    assert f"/entry/prolific/{batch.entry_token}/" in out.getvalue()


def _change_form(batch: Batch, **overrides) -> dict:
    data = {
        "name": batch.name,
        "overlap": batch.overlap,
        "priority": batch.priority,
        "instructions": "",
        "assignment_expiry_minutes": batch.assignment_expiry_minutes,
        "gold_rate": batch.gold_rate,
        "must_watch": "on",
        "entry_pairs_required": "",
        "entry_completion_code": "",
        "entry_completion_url": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_admin_change_form_enables_entry_links_and_audits_settings(client, make_user):
    batch = _batch("published")
    client.force_login(get_user_model().objects.create_superuser("root", password="pw-long-1"))
    url = f"/admin/batches/batch/{batch.pk}/change/"
    refused = client.post(
        url, _change_form(batch, entry_enabled="on", entry_completion_url="http://x.org/done")
    )
    assert refused.status_code == 200  # the form comes back with errors
    html = refused.content.decode()
    assert "Required when entry links are enabled." in html
    assert "must start with https://" in html
    saved = client.post(
        url,
        _change_form(
            batch,
            entry_enabled="on",
            entry_pairs_required=10,
            entry_completion_code="ABC123",
            priority=7,
        ),
    )
    assert saved.status_code == 302
    batch.refresh_from_db()
    assert batch.entry_enabled and batch.entry_token and batch.priority == 7
    event = AuditEvent.objects.get(verb="batch.settings")
    assert "priority" in event.details["changed"] and event.actor.username == "root"
    page = client.get(url).content.decode()
    assert f"/entry/prolific/{batch.entry_token}/?PROLIFIC_PID=" in page
