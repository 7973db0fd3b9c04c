"""Admin page: upload a manifest or SafeSora config plus a zip of videos, import as a batch."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from annotation_server.accounts import roles
from annotation_server.batches.models import Batch
from annotation_server.batches.services import BatchImportError, BatchImportResult, batch_import
from annotation_server.catalog.importers.archive import extract_zip
from annotation_server.catalog.services import unqueued_message, videos_waiting_for_queue
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


def _safe_name(upload_name: str) -> str:
    # Only the base name, reduced to harmless characters: it names the file in error messages.
    base = re.sub(r"[^A-Za-z0-9._-]", "_", Path(upload_name).name).lstrip(".")
    return base or "manifest.jsonl"


def batch_import_view(request):
    """GET: the upload form. POST: stage the upload, import it, show every problem found."""
    if not roles.is_admin(request.user):
        raise PermissionDenied("Importing batches needs the admin role.")
    form = BatchImportForm(request.POST or None, request.FILES or None)
    problems: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = _import_upload(form.cleaned_data, request.user)
        except BatchImportError as exc:
            problems = exc.errors["issues"]
        except ApplicationError as exc:
            problems = [exc.message]
        else:
            batch = result.batch
            messages.success(
                request,
                f"Batch {batch.name!r} imported with "
                f"{batch.pairs.count()} pairs; its videos are being processed.",
            )
            waiting = videos_waiting_for_queue(video_pks=result.transcodes_queued)
            if waiting:
                messages.warning(request, unqueued_message(waiting))
            return redirect(reverse("admin:batches_batch_change", args=[batch.pk]))
    context = {
        **admin.site.each_context(request),
        "title": "Import a batch",
        "form": form,
        "problems": problems,
        "opts": Batch._meta,
    }
    return TemplateResponse(request, "admin/catalog/batch_import.html", context)


def _import_upload(data: dict, user) -> BatchImportResult:
    staging = Path(settings.IMPORT_STAGING_ROOT) / uuid.uuid4().hex
    staging.mkdir(parents=True)
    try:
        if data["videos"]:
            issues = extract_zip(
                data["videos"],
                staging,
                display=_safe_name(data["videos"].name),
                max_bytes=settings.IMPORT_MAX_UNZIPPED_BYTES,
            )
            if issues:
                raise BatchImportError(issues)
        manifest = staging / _safe_name(data["manifest"].name)
        with open(manifest, "wb") as out:
            for chunk in data["manifest"].chunks():
                out.write(chunk)
        result = batch_import(
            path=manifest,
            name=data["name"],
            overlap=data["overlap"],
            priority=data["priority"],
            instructions=data["instructions"],
            owner=user,
        )
    finally:
        # The import copied what it keeps into media storage; the staged upload goes.
        shutil.rmtree(staging, ignore_errors=True)
    return result
