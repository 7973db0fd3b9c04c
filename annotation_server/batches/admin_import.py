"""Admin page: upload a manifest or SafeSora config plus a zip of videos, imported as a batch
by a background job (import_jobs.py)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.batches import import_jobs
from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError

SUFFIXES = (".jsonl", ".json", ".json.gz")


class BatchImportForm(forms.Form):
    name = forms.CharField(max_length=128, help_text="A new, unique batch name.")
    overlap = forms.IntegerField(min_value=1, initial=3, help_text="Annotators per pair (K).")
    priority = forms.IntegerField(initial=0, help_text="Higher batches are served first.")
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    manifest = forms.FileField(
        help_text="A JSONL manifest (.jsonl) or a SafeSora config (.json or .json.gz)."
    )
    videos = forms.FileField(
        required=False,
        help_text="A zip of the videos; paths in the manifest are relative to the zip's root "
        "(SafeSora: the zip holds videos/<prompt_id>/<video_id>.mp4).",
    )

    def clean_manifest(self):
        upload = self.cleaned_data["manifest"]
        if not upload.name.lower().endswith(SUFFIXES):
            raise forms.ValidationError("Upload a .jsonl manifest or a .json / .json.gz config.")
        return upload


def batch_import_view(request):
    """GET: the upload form. POST: stage the upload and queue its import (a Celery job, see
    batches/import_jobs.py); the admin lands on the job's page, which shows how it went."""
    if not roles.is_admin(request.user):
        raise PermissionDenied("Importing batches needs the admin role.")
    form = BatchImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            job = import_jobs.batch_import_start(
                owner=request.user,
                name=data["name"],
                overlap=data["overlap"],
                priority=data["priority"],
                instructions=data["instructions"],
                manifest=data["manifest"],
                manifest_name=data["manifest"].name,
                videos=data["videos"],
                videos_name=data["videos"].name if data["videos"] else "",
            )
        except ApplicationError as exc:
            form.add_error("name" if exc.code == "name_taken" else None, exc.message)
        else:
            messages.info(
                request,
                f"Upload received; batch {job.name!r} is being imported. This page shows the "
                "outcome when the import is done.",
            )
            return redirect(reverse("admin:batches_batchimport_change", args=[job.pk]))
    context = {
        **admin.site.each_context(request),
        "title": "Import a batch",
        "form": form,
        "opts": Batch._meta,
    }
    return TemplateResponse(request, "admin/batches/batch_import.html", context)
