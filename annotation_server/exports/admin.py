"""Admin for export jobs: start one with options, watch its progress, download the result."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.urls import path, reverse
from django.utils.html import format_html

from annotation_server.accounts import roles
from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import job_cancel, job_progress_text

from . import jobs, services
from .models import Export


class ExportStartForm(forms.ModelForm):
    batches = forms.ModelMultipleChoiceField(
        queryset=Batch.objects.order_by("name"),
        required=False,
        help_text="Leave empty to export every batch.",
    )

    class Meta:
        model = Export
        fields = ("kind", "test_fraction", "seed", "videos", "tar_videos", "min_annotations", "raw")

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            services.export_options_check(
                kind=data["kind"],
                batch_names=[b.name for b in data.get("batches") or []],
                test_fraction=data["test_fraction"],
                videos=data["videos"],
                tar=data["tar_videos"],
                min_annotations=data["min_annotations"],
            )
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error
        return data


@admin.register(Export)
class ExportAdmin(admin.ModelAdmin):
    list_display = ("id", "kind", "status", "progress", "owner", "created_at", "download")
    list_filter = ("status", "kind")
    actions = ["cancel"]
    readonly_fields = (
        "kind",
        "batch_names",
        "test_fraction",
        "seed",
        "videos",
        "tar_videos",
        "min_annotations",
        "raw",
        "owner",
        "status",
        "progress",
        "summary_text",
        "error",
        "download",
        "result_size",
        "started_at",
        "finished_at",
        "created_at",
        "attempts",
    )

    # Exports carry every answer of every batch: admins only, reviewers included out.
    def has_module_permission(self, request):
        return roles.is_admin(request.user)

    def has_view_permission(self, request, obj=None):
        return roles.is_admin(request.user)

    def has_add_permission(self, request):
        return roles.is_admin(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return roles.is_admin(request.user)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ExportStartForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return (
                "kind",
                "batches",
                "test_fraction",
                "seed",
                "videos",
                "tar_videos",
                "min_annotations",
                "raw",
            )
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        export = jobs.export_start(
            owner=request.user,
            kind=data["kind"],
            batch_names=[b.name for b in data.get("batches") or []],
            test_fraction=data["test_fraction"],
            seed=data["seed"],
            videos=data["videos"],
            tar_videos=data["tar_videos"],
            min_annotations=data["min_annotations"],
            raw=data["raw"],
        )
        obj.pk = obj.id = export.pk

    def save_related(self, request, form, formsets, change):
        pass  # nothing related: the service wrote the row

    def delete_model(self, request, obj):
        jobs.export_delete(export=obj)

    def delete_queryset(self, request, queryset):
        for export in queryset:
            jobs.export_delete(export=export)

    @admin.action(description="Cancel selected exports", permissions=["delete"])
    def cancel(self, request, queryset):
        cancelled = [
            e.pk for e in queryset if job_cancel(jobs.KIND, e.pk, by=request.user.username)
        ]
        self.message_user(
            request,
            f"{len(cancelled)} export(s) cancelled; finished ones stay as they are.",
            messages.SUCCESS if cancelled else messages.WARNING,
        )

    @admin.display(description="progress")
    def progress(self, obj: Export) -> str:
        return job_progress_text(obj)

    @admin.display(description="summary")
    def summary_text(self, obj: Export) -> str:
        if not obj.summary:
            return "–"
        return format_html("<pre>{}</pre>", json.dumps(obj.summary, indent=2, ensure_ascii=False))

    @admin.display(description="result")
    def download(self, obj: Export) -> str:
        if obj.status != Export.Status.SUCCEEDED:
            return "–"
        url = reverse("admin:exports_export_download", args=[obj.pk])
        return format_html('<a href="{}">Download .tar.gz</a>', url)

    def get_urls(self):
        urls = [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="exports_export_download",
            ),
        ]
        return urls + super().get_urls()

    def download_view(self, request, pk: int):
        if not roles.is_admin(request.user):
            raise PermissionDenied("Downloading exports needs the admin role.")
        export = Export.objects.filter(pk=pk).first()
        archive = jobs.export_result_path(export) if export else None
        if archive is None:
            raise Http404("This export has no finished result.")
        return FileResponse(
            open(archive, "rb"),  # noqa: SIM115 - FileResponse closes it
            as_attachment=True,
            filename=f"safesora-export-{export.pk}.tar.gz",
            content_type="application/gzip",
        )
