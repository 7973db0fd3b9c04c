"""Admins create taxonomies from a file (admin or `load_taxonomy`) or typed in, and an edit
becomes a new version."""

from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from annotation_server.accounts import roles
from annotation_server.accounts.roles import role_permissions_sync
from annotation_server.catalog.models import Taxonomy

pytestmark = pytest.mark.django_db

ADD = "/admin/catalog/taxonomy/add/"
YAML = """\
name: studio_harms
title: Studio harms
source: our review guide
categories:
  - key: gore
    label_en: Gore
    label_zh: 血腥
    description_en: Blood or injury shown closely
  - key: weapons
    label_en: Weapons
"""


@pytest.fixture
def admin_client(client, make_user):
    role_permissions_sync()
    client.force_login(make_user(roles.ADMIN))
    return client


def _upload(client, text: str, name: str = "harms.yaml"):
    file = SimpleUploadedFile(name, text.encode(), content_type="application/yaml")
    return client.post(ADD, {"definition_file": file}, follow=True)


def test_a_yaml_file_makes_a_taxonomy_and_the_same_file_again_changes_nothing(admin_client):
    page = _upload(admin_client, YAML)
    assert page.status_code == 200
    made = Taxonomy.objects.get(name="studio_harms")
    assert (made.version, made.title, made.source) == (1, "Studio harms", "our review guide")
    assert [c["key"] for c in made.categories] == ["gore", "weapons"]
    assert made.categories[1]["label_zh"] == "Weapons"  # no Chinese label: the English one
    assert "studio_harms" in admin_client.get("/admin/catalog/taxonomy/").content.decode()

    again = _upload(admin_client, YAML)
    assert "Nothing changed" in again.content.decode()
    assert Taxonomy.objects.filter(name="studio_harms").count() == 1


def test_typed_in_categories_then_an_edit_saves_the_next_version(admin_client):
    response = admin_client.post(
        ADD,
        {
            "name": "mine",
            "title": "Mine",
            "source": "",
            "categories_text": '[{"key": "spam", "label_en": "Spam"}]',
        },
    )
    assert response.status_code == 302
    first = Taxonomy.objects.get(name="mine")

    page = admin_client.get(f"/admin/catalog/taxonomy/{first.pk}/change/").content.decode()
    assert "spam" in page  # the categories shown as editable text
    edited = admin_client.post(
        f"/admin/catalog/taxonomy/{first.pk}/change/",
        {
            "title": "Mine",
            "source": "",
            "categories_text": "- key: spam\n  label_en: Spam\n- key: scam\n  label_en: Scam\n",
        },
        follow=True,
    )
    assert "stays as it was" in edited.content.decode()
    first.refresh_from_db()
    assert first.keys == ("spam",)  # the version answers may point at is untouched
    second = Taxonomy.objects.get(name="mine", version=2)
    assert second.keys == ("spam", "scam")


def test_a_broken_definition_is_refused_with_what_to_fix(admin_client):
    page = _upload(admin_client, "name: Bad Name\ncategories:\n  - key: ok\n  - key: ok\n")
    text = page.content.decode()
    assert "lower-case letters" in text  # the name
    assert "appears twice" in text and "English label is required" in text
    assert not Taxonomy.objects.filter(built_in=False).exists()
    assert "not valid YAML" in _upload(admin_client, "categories: [unclosed").content.decode()


def test_built_in_versions_are_read_only_and_reviewers_only_look(client, admin_client, make_user):
    built_in = Taxonomy.objects.get(name="safesora", version=1)
    url = f"/admin/catalog/taxonomy/{built_in.pk}/change/"
    page = admin_client.get(url).content.decode()
    assert "Violence" in page and 'name="categories_text"' not in page
    assert admin_client.post(url, {"categories_text": "[]"}).status_code == 403

    client.force_login(make_user(roles.REVIEWER))
    assert client.get("/admin/catalog/taxonomy/").status_code == 200
    assert client.get(ADD).status_code == 403
    client.force_login(make_user(roles.ANNOTATOR))
    assert client.get("/admin/catalog/taxonomy/").status_code in (302, 403)


def test_load_taxonomy_saves_a_file_once_and_names_what_is_wrong(tmp_path):
    good = tmp_path / "harms.yaml"
    good.write_text(YAML, encoding="utf-8")
    out = StringIO()
    call_command("load_taxonomy", str(good), stdout=out)
    call_command("load_taxonomy", str(good), stdout=out)
    assert out.getvalue().splitlines() == [
        "harms.yaml: saved as studio_harms v1 (2 categories)",
        "harms.yaml: unchanged: already studio_harms v1 (2 categories)",
    ]
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "categories": []}', encoding="utf-8")
    with pytest.raises(CommandError, match="categories: a non-empty list"):
        call_command("load_taxonomy", str(bad))
