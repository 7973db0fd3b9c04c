"""Taxonomies in the admin: create one from a JSON/YAML file or typed in, edit as a new version.

A taxonomy version is never changed in place (answers point at the version they were given
with), so the change form saves an edited definition through `taxonomy_save`, which makes the
next version and leaves the shown one as it was. Built-in versions are read-only: the data
files under catalog/taxonomies/ own them, and an edit there would be undone by the next
migrate; an admin who wants changes saves them under a name of their own.
"""

from __future__ import annotations

from typing import Any

import yaml
from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html_join

from annotation_server.accounts import roles

from .models import Taxonomy
from .taxonomy_data import taxonomy_problems, taxonomy_save

MAX_FILE_BYTES = 512 * 1024


def _definition_text(taxonomy: Taxonomy) -> str:
    return yaml.safe_dump(taxonomy.categories, allow_unicode=True, sort_keys=False, width=100)


class TaxonomyForm(forms.ModelForm):
    """Either a file holding a whole definition, or the name and the categories as YAML/JSON
    text (JSON is YAML, so one parser reads both)."""

    definition_file = forms.FileField(
        required=False,
        help_text="A .json, .yaml or .yml file with name, title, source and categories. "
        "When given, the fields below are taken from it.",
    )
    categories_text = forms.CharField(
        required=False,
        label="Categories",
        widget=forms.Textarea(attrs={"rows": 24, "cols": 100, "style": "font-family:monospace"}),
        help_text="A list of {key, label_en, label_zh, description_en, description_zh}, in the "
        "order workers see them (YAML or JSON).",
    )

    class Meta:
        model = Taxonomy
        fields = ("name", "title", "source")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "name" not in self.fields:  # the read-only view of a built-in version
            return
        self.fields["name"].required = False
        if self.instance.pk:
            self.fields["categories_text"].initial = _definition_text(self.instance)
            self.fields["name"].disabled = True  # a new version keeps the name

    def _parsed(self, text: str, where: str) -> Any:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise forms.ValidationError(f"{where} is not valid YAML or JSON: {error}") from error

    def clean(self) -> dict:
        data = super().clean()
        upload = data.get("definition_file")
        if upload is not None:
            if upload.size > MAX_FILE_BYTES:
                raise forms.ValidationError(
                    f"{upload.name} is {upload.size:,} bytes; a taxonomy file is at most "
                    f"{MAX_FILE_BYTES:,}."
                )
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError as error:
                raise forms.ValidationError(f"{upload.name} is not UTF-8 text.") from error
            definition = self._parsed(text, upload.name)
            if self.instance.pk and isinstance(definition, dict):
                definition["name"] = self.instance.name
        else:
            definition = {
                "name": self.instance.name if self.instance.pk else data.get("name"),
                "title": data.get("title") or "",
                "source": data.get("source") or "",
                "categories": self._parsed(data.get("categories_text") or "", "Categories"),
            }
        problems = taxonomy_problems(definition)
        if problems:
            raise forms.ValidationError([forms.ValidationError(p) for p in problems])
        data["definition"] = definition
        return data


@admin.register(Taxonomy)
class TaxonomyAdmin(admin.ModelAdmin):
    form = TaxonomyForm
    list_display = ("name", "version", "title", "category_count", "built_in", "created_at")
    list_filter = ("built_in", "name")
    search_fields = ("name", "title")
    fields = ("definition_file", "name", "title", "source", "categories_text")

    def has_module_permission(self, request):
        return roles.is_reviewer(request.user)

    def has_view_permission(self, request, obj=None):
        return roles.is_reviewer(request.user)

    def has_add_permission(self, request):
        return roles.is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return roles.is_admin(request.user) and not (obj is not None and obj.built_in)

    def has_delete_permission(self, request, obj=None):
        # Batches and answers protect the versions they use; an unused one may go.
        return roles.is_admin(request.user) and not (obj is not None and obj.built_in)

    def get_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return ("name", "version", "title", "source", "category_table")
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return ("name", "version", "title", "source", "category_table")
        return ()

    @admin.display(description="categories")
    def category_count(self, obj: Taxonomy) -> int:
        return len(obj.categories)

    @admin.display(description="categories")
    def category_table(self, obj: Taxonomy) -> str:
        return format_html_join(
            "",
            "<p><code>{}</code> {} / {}<br><small>{}</small></p>",
            ((c["key"], c["label_en"], c["label_zh"], c["description_en"]) for c in obj.categories),
        )

    def save_model(self, request, obj, form, change):
        saved, new = taxonomy_save(form.cleaned_data["definition"])  # checked by the form
        if change and new:
            messages.info(
                request,
                f"Saved as {saved}; {obj.name} v{obj.version} stays as it was for the batches "
                "and answers that use it.",
            )
        elif not new:
            messages.info(request, f"Nothing changed: these categories are {saved} already.")
        # The admin redirects to and logs the object it was given: make it the saved version.
        obj.pk, obj.version, obj.categories = saved.pk, saved.version, saved.categories
        obj.name, obj.title, obj.source = saved.name, saved.title, saved.source
