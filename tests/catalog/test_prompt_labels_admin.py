"""Admins and reviewers set or correct a prompt's own harm labels in the admin."""

import pytest

from annotation_server import taxonomy
from annotation_server.accounts import roles
from annotation_server.accounts.roles import role_permissions_sync
from annotation_server.catalog.models import Prompt
from tests.factories import PromptFactory


def _form(prompt, *, labelled, harms=(), **extra):
    data = {
        "prompt_id": prompt.prompt_id,
        "text": prompt.text,
        "prompt_type": prompt.prompt_type,
        **extra,
    }
    if labelled:
        data["labelled"] = "on"
    data.update({f"harm_{key}": "on" for key in harms})
    return data


@pytest.mark.django_db
def test_admin_labels_an_unlabelled_prompt(client, make_user):
    role_permissions_sync()
    prompt = PromptFactory(prompt_labels=None)
    client.force_login(make_user(roles.ADMIN))
    url = f"/admin/catalog/prompt/{prompt.pk}/change/"
    page = client.get(url)
    assert "S8 Violence, Injury, Gory Content" in page.content.decode()

    response = client.post(url, _form(prompt, labelled=True, harms=["violence", "crime"]))
    assert response.status_code == 302
    prompt.refresh_from_db()
    assert prompt.prompt_labels == taxonomy.harm_label(["violence", "crime"])


@pytest.mark.django_db
def test_reviewer_corrects_labels_but_cannot_rewrite_the_prompt(client, make_user):
    role_permissions_sync()
    prompt = PromptFactory(prompt_labels=taxonomy.harm_label(["porn"]))
    client.force_login(make_user(roles.REVIEWER))
    url = f"/admin/catalog/prompt/{prompt.pk}/change/"
    response = client.post(url, _form(prompt, labelled=True, harms=["hate"], text="rewritten"))
    assert response.status_code == 302
    prompt.refresh_from_db()
    assert prompt.prompt_labels == taxonomy.harm_label(["hate"])
    assert prompt.text != "rewritten"
    assert client.get("/admin/catalog/prompt/add/").status_code == 403


@pytest.mark.django_db
def test_ticked_boxes_without_labelled_are_refused_and_nothing_changes(client, make_user):
    role_permissions_sync()
    prompt = PromptFactory(prompt_labels=None)
    client.force_login(make_user(roles.ADMIN))
    response = client.post(
        f"/admin/catalog/prompt/{prompt.pk}/change/",
        _form(prompt, labelled=False, harms=["violence"]),
    )
    assert response.status_code == 200
    assert "tick it to save these labels" in response.content.decode()
    assert Prompt.objects.get(pk=prompt.pk).prompt_labels is None


@pytest.mark.django_db
def test_unticking_labelled_makes_the_prompt_unlabelled_again(client, make_user):
    role_permissions_sync()
    prompt = PromptFactory(prompt_labels=taxonomy.harm_label())
    client.force_login(make_user(roles.ADMIN))
    client.post(f"/admin/catalog/prompt/{prompt.pk}/change/", _form(prompt, labelled=False))
    assert Prompt.objects.get(pk=prompt.pk).prompt_labels is None
