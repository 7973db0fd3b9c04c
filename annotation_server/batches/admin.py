import secrets

from django import forms
from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils.html import format_html

from annotation_server.accounts import roles
from annotation_server.core.audit import audit_record
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import job_cancel, job_progress_text
from annotation_server.core.jobs.models import FINISHED

from . import import_jobs, lifecycle
from .admin_import import batch_import_view
from .counted_sources import batch_counted_sources_set, source_count_check
from .models import Batch, BatchImport


class BatchAdminForm(forms.ModelForm):
    entry_completion_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=Batch._meta.get_field("entry_completion_url").help_text,
    )

    class Meta:
        model = Batch
        exclude: tuple = ()  # the admin chooses the fields; this form only adds checks

    def clean(self):
        data = super().clean()
        url = data.get("entry_completion_url") or ""
        if url and not url.startswith("https://"):
            self.add_error("entry_completion_url", "The completion URL must start with https://.")
        self._clean_counted_sources(data)
        if data.get("entry_enabled"):
            if not data.get("entry_pairs_required"):
                self.add_error("entry_pairs_required", "Required when entry links are enabled.")
            if not (data.get("entry_completion_code") or data.get("entry_completion_url")):
                self.add_error(
                    "entry_completion_code", "Give a Prolific completion code or a completion URL."
                )
        return data

    def _clean_counted_sources(self, data: dict) -> None:
        # Checked here so a refused source is shown on the field; saved through the service
        # (BatchAdmin.save_model) so the pairs' credits follow the list.
        sources = data.get("counted_sources")
        if sources in (None, ""):
            data["counted_sources"] = []
            return
        if not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
            self.add_error("counted_sources", 'A JSON list of source names, e.g. ["vhd11k"].')
            return
        if self.instance.pk is None:
            if sources:
                self.add_error("counted_sources", "A new batch has no external answers yet.")
            return
        for source in sources:
            if source in self.instance.counted_sources:
                continue
            try:
                source_count_check(self.instance, source)
            except ApplicationError as error:
                self.add_error("counted_sources", error.message)


def _lifecycle_action(name: str):
    # One admin action per lifecycle service; each batch is moved (and audited) on its own so
    # one refusal does not hide the others' success.
    def action(modeladmin, request, queryset):
        for batch in queryset.order_by("name"):
            try:
                lifecycle.LIFECYCLE_ACTIONS[name](batch=batch, actor=request.user)
                modeladmin.message_user(
                    request, f"{batch.name}: now {batch.status}.", messages.SUCCESS
                )
            except ApplicationError as error:
                modeladmin.message_user(request, f"{batch.name}: {error.message}", messages.ERROR)

    action.__name__ = f"batch_{name}"
    return admin.action(
        description=f"{name.capitalize()} selected batches", permissions=["lifecycle"]
    )(action)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    form = BatchAdminForm
    list_display = ("name", "status", "overlap", "priority", "owner", "created_at", "dashboard")
    list_filter = ("status",)
    search_fields = ("name",)
    filter_horizontal = ("groups",)
    actions = [_lifecycle_action(name) for name in lifecycle.LIFECYCLE_ACTIONS]
    # Status moves only through the lifecycle actions (checked and audited).
    readonly_fields = ("status", "published_at", "entry_token", "entry_links")
    list_display = (*list_display[:1], "kind", *list_display[1:])
    list_filter = ("status", "kind")

    def get_readonly_fields(self, request, obj=None):
        # A batch's kind decides the shape of its units and answers: fixed once it exists.
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is None else (*fields, "kind")

    def has_lifecycle_permission(self, request) -> bool:
        return roles.is_admin(request.user)

    @admin.display(description="Dashboard")
    def dashboard(self, obj):
        return format_html('<a href="{}">open</a>', reverse("dashboard-batch", args=[obj.pk]))

    @admin.display(description="Entry links")
    def entry_links(self, obj):
        if not obj.pk or not obj.entry_token:
            return "Enable entry links and save to get the links."
        prolific = reverse("entry-prolific", args=[obj.entry_token])
        external = reverse("entry-external", args=[obj.entry_token])
        return format_html(
            "Prolific: <code>{}?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}&amp;STUDY_ID="
            "{{{{%STUDY_ID%}}}}&amp;SESSION_ID={{{{%SESSION_ID%}}}}</code><br>"
            "External id: <code>{}?worker_id=&lt;id&gt;</code>",
            prolific,
            external,
        )

    def save_model(self, request, obj, form, change):
        if obj.entry_enabled and not obj.entry_token:
            obj.entry_token = secrets.token_urlsafe(24)
        counted = "counted_sources" in form.changed_data and change
        if counted:
            wanted, obj.counted_sources = obj.counted_sources, form.initial["counted_sources"]
        super().save_model(request, obj, form, change)
        if counted:
            batch_counted_sources_set(batch=obj, sources=wanted, actor=request.user)
            obj.refresh_from_db(fields=["counted_sources"])
        if change and form.changed_data:
            audit_record(
                actor=request.user,
                verb="batch.settings",
                target=obj,
                batch=obj,
                details={"changed": sorted(form.changed_data), "via": "admin"},
            )

    def get_urls(self):
        # The upload page of the batch import (admin_import.py), at import/.
        view = self.admin_site.admin_view(batch_import_view)
        return [path("import/", view, name="batches_batch_import"), *super().get_urls()]


@admin.register(BatchImport)
class BatchImportAdmin(admin.ModelAdmin):
    """Admin uploads being imported (batches/import_jobs.py): read-only, admins only. New
    ones start from the upload page (Batches › Import), which "add" leads to."""

    list_display = ("name", "status", "progress", "batch", "owner", "created_at", "finished_at")
    list_filter = ("status",)
    actions = ["cancel"]
    readonly_fields = (
        "name",
        "status",
        "progress",
        "error",
        "batch",
        "overlap",
        "priority",
        "instructions",
        "manifest_name",
        "videos_name",
        "summary",
        "owner",
        "created_at",
        "started_at",
        "finished_at",
        "attempts",
    )
    fields = readonly_fields

    def has_module_permission(self, request):
        return roles.is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return roles.is_admin(request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # A running job's row is its only record; finished ones may go.
        return roles.is_admin(request.user) and (obj is None or obj.finished)

    @admin.display(description="progress")
    def progress(self, obj: BatchImport) -> str:
        return job_progress_text(obj)

    def delete_queryset(self, request, queryset):
        queryset.filter(status__in=FINISHED).delete()

    @admin.action(description="Cancel selected imports")
    def cancel(self, request, queryset):
        by = request.user.username
        cancelled = [job for job in queryset if job_cancel(import_jobs.KIND, job.pk, by=by)]
        self.message_user(
            request,
            f"{len(cancelled)} import(s) cancelled; nothing of them is imported. Finished ones "
            "stay as they are.",
            messages.SUCCESS if cancelled else messages.WARNING,
        )
