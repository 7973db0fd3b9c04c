"""Admin page: upload a manifest, a SafeSora config or a VHD11K annotation file plus a zip of
its videos or images, imported as a batch by a background job (import_jobs.py)."""

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
from annotation_server.catalog.importers.vhd11k import release_zip_name
from annotation_server.core.exceptions import ApplicationError

SUFFIXES = (".jsonl", ".json", ".json.gz")


class BatchImportForm(forms.Form):
    name = forms.CharField(max_length=128, help_text="A new, unique batch name.")
    overlap = forms.IntegerField(min_value=1, initial=3, help_text="Annotators per pair (K).")
    priority = forms.IntegerField(initial=0, help_text="Higher batches are served first.")
    instructions = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    manifest = forms.FileField(
        help_text="A JSONL manifest (.jsonl), a SafeSora config (.json or .json.gz), or a "
        "VHD11K annotation file as released (harmful_image_10000_ann.csv or "
        "harmful_video_1000_ann.csv, or the same as .json): a classification batch."
    )
    videos = forms.FileField(
        required=False,
        help_text="A zip of the videos; paths in the manifest are relative to the zip's root "
        "(SafeSora: the zip holds videos/<prompt_id>/<video_id>.mp4; VHD11K: the release's "
        "harmful_images_10000.zip or harmful_videos_1000.zip, read without unpacking).",
    )
    answers_count = forms.BooleanField(
        required=False,
        initial=False,
        label="Answers count",
        help_text="Off: the answers the upload carries (a SafeSora config's judgements, a "
        "SafeSora-Label or VHD11K release's labels) are kept only to compare our workers "
        "with. On: they are credited toward each pair's overlap, so a pair the source "
        "already judged K times is not handed out again and exports count those answers "
        "beside our workers' (as import_batch --answers-count). Machine verdicts never count "
        "this way. Undo in the batch's admin (its counted sources field).",
    )

    def clean_manifest(self):
        upload = self.cleaned_data["manifest"]
        if release_zip_name(upload.name) is not None:
            return upload
        if not upload.name.lower().endswith(SUFFIXES):
            raise forms.ValidationError(
                "Upload a .jsonl manifest, a .json / .json.gz config, or a VHD11K annotation "
                "file named as released (harmful_image_<N>_ann.csv)."
            )
        return upload

    def clean(self):
        data = super().clean()
        manifest = data.get("manifest")
        if manifest is not None and release_zip_name(manifest.name) and not data.get("videos"):
            self.add_error(
                "videos",
                f"A VHD11K annotation file needs its zip ({release_zip_name(manifest.name)}).",
            )
        return data


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
                answers_count=data["answers_count"],
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
