"""The machine_run command and the admin pages of machine annotators and their runs."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.machines.models import MachineAnnotator, MachineRun

from .chat_server import Reply, verdict


@pytest.mark.django_db(transaction=True)
def test_machine_run_here_shows_progress_and_totals(
    make_batch, chat_server, make_annotator, api_key, capsys
):
    server = chat_server(lambda body, key, nth: verdict(False, []))
    batch = make_batch(images=3)
    make_annotator(server)

    call_command("machine_run", batch.name, "test-vlm", "--here")

    out = capsys.readouterr()
    assert "succeeded: 3 verdicts, 0 unparseable, 0 failed; 3 calls" in out.out
    assert "3/3" in out.err  # tqdm's bar
    run = MachineRun.objects.get()
    assert run.status == "succeeded" and run.prompt_tokens == 300

    call_command("machine_run", batch.name, "test-vlm", "--here")  # nothing left to call
    assert len(server.requests) == 3


@pytest.mark.django_db(transaction=True)
def test_machine_run_says_what_is_wrong(make_batch, chat_server, make_annotator, api_key):
    server = chat_server(lambda body, key, nth: Reply(status=403))
    batch = make_batch(images=1)
    make_annotator(server)
    with pytest.raises(CommandError, match="version 9"):
        call_command("machine_run", batch.name, "test-vlm", "--version", "9")
    with pytest.raises(CommandError, match="refused the calls"):
        call_command("machine_run", batch.name, "test-vlm", "--here")


@pytest.mark.django_db
def test_admin_edit_makes_a_new_version(client, make_user, chat_server, make_annotator):
    annotator = make_annotator(chat_server(lambda *a: verdict(False, [])))
    admin = make_user(roles.ADMIN)
    admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    url = reverse("admin:machines_machineannotator_change", args=[annotator.pk])
    page = client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {
        name: form.initial.get(name) for name in form.fields if form.initial.get(name) is not None
    }
    data["temperature"] = "0.9"

    response = client.post(url, data)

    assert response.status_code == 302, response.content[:2000]
    versions = list(MachineAnnotator.objects.values_list("version", "temperature"))
    assert sorted(versions) == [(1, 0.0), (2, 0.9)]
    assert client.get(reverse("admin:machines_machinerun_changelist")).status_code == 200
