"""Exports leave an audit trail: who exported what, and when (web jobs and shell commands)."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from annotation_server.accounts import roles
from annotation_server.catalog.models import Prompt
from annotation_server.core.models import AuditEvent
from annotation_server.exports.jobs import export_start
from annotation_server.taxonomy import harm_label


@pytest.mark.django_db
def test_command_export_is_audited(tmp_path):
    Prompt.objects.create(
        prompt_id="p1", text="a prompt", prompt_type="safety_neutral", prompt_labels=harm_label()
    )
    out = tmp_path / "dataset"
    call_command("export_safesora", "--out", str(out), "--kind", "eval", verbosity=0)
    event = AuditEvent.objects.get(verb="export.command")
    assert event.actor is None
    assert event.target_label == str(out)
    assert event.details["kind"] == "eval"


@pytest.mark.django_db
def test_web_export_is_audited_with_its_admin(make_user, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    admin = make_user(roles.ADMIN)
    export = export_start(owner=admin, kind="eval")
    event = AuditEvent.objects.get(verb="export.start")
    assert event.actor == admin
    assert event.target_id == str(export.pk)
