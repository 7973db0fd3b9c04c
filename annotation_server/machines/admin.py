"""Admin for machine annotators (saving a change makes a new version) and their runs (read
only: progress, counts, tokens, cost; start, start again, cancel)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.jobs import job_progress_text

from . import routing_admin  # noqa: F401  (registers the batch routings' admin)
from .annotators import CONFIG_FIELDS, machine_annotator_save
from .models import MachineAnnotator, MachineRun, MachineVerdict
from .runs import RUNNABLE_KINDS, detector_rule, machine_run_cancel, machine_run_start

# Every configuration field sits in one of them: the change form saves CONFIG_FIELDS.
ANNOTATOR_FIELDSETS = (
    (None, {"fields": ("name", "version", "kind")}),
    ("Endpoint", {"fields": ("base_url", "model", "api_key_env")}),
    (
        "Asking",
        {"fields": ("prompt_template", "temperature", "max_tokens", "max_attempts", "examples")},
    ),
    ("Video frames", {"fields": ("frames_per_video", "frame_selection")}),
    (
        "Debate",
        {"fields": ("debate_rounds", "affirmative_prompt", "negative_prompt", "critic_prompt")},
    ),
    (
        "Detector",
        {"fields": ("detector", "detector_mapping", "detector_threshold", "detector_unsure_band")},
    ),
    (
        "Limits (requests, tokens and calls at once are shared by every run on the endpoint)",
        {
            "fields": (
                "requests_per_minute",
                "tokens_per_minute",
                "concurrency",
                "endpoint_concurrency",
                "request_timeout_s",
                "transport_retries",
            )  # fmt: skip
        },
    ),
    ("Prices", {"fields": ("price_prompt_per_mtok", "price_completion_per_mtok")}),
)


@admin.register(MachineAnnotator)
class MachineAnnotatorAdmin(admin.ModelAdmin):
    list_display = ("name", "version", "kind", "model", "base_url", "api_key_env", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "model")
    fieldsets = ANNOTATOR_FIELDSETS
    readonly_fields = ("version",)

    def get_readonly_fields(self, request, obj=None):
        # A version is renamed never: a new name is a new annotator.
        return ("name", "version") if obj else ("version",)

    def save_model(self, request, obj, form, change) -> None:
        """Never edits a version in place: the form's values become the next version (or
        the newest, when they equal it)."""
        config = {name: form.cleaned_data[name] for name in CONFIG_FIELDS}
        try:
            saved, new = machine_annotator_save(name=obj.name, **config)
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error
        obj.pk, obj.version = saved.pk, saved.version
        obj._state.adding = False
        if change:
            text = f"Saved as {saved}." if new else f"Unchanged: still {saved}."
            messages.info(request, text)


class RunStartForm(forms.ModelForm):
    class Meta:
        model = MachineRun
        fields = ("batch", "annotator")

    def clean(self):
        data = super().clean()
        batch, annotator = data.get("batch"), data.get("annotator")
        if batch is not None and (batch.kind != "classification" or batch.taxonomy_id is None):
            self.add_error("batch", "Machines answer classification batches only.")
        if annotator is not None and annotator.kind not in RUNNABLE_KINDS:
            self.add_error("annotator", f"The {annotator.kind} kind cannot run yet.")
        elif annotator is not None and annotator.kind == "detector" and not self.errors:
            try:
                detector_rule(annotator, batch)
            except ValueError as error:
                self.add_error("annotator", str(error))
        return data


@admin.register(MachineRun)
class MachineRunAdmin(admin.ModelAdmin):
    list_display = (
        "id", "annotator", "batch", "status", "progress", "done", "unparseable", "failed",
        "requests", "prompt_tokens", "completion_tokens", "estimated_cost", "created_at",
        "dashboard",
    )  # fmt: skip
    list_filter = ("status", "annotator__name")
    actions = ("start_again", "cancel")
    readonly = (
        "status", "progress", "done", "unparseable", "failed", "requests", "prompt_tokens",
        "completion_tokens", "estimated_cost", "attempts", "error", "started_at",
        "finished_at", "summary",
    )  # fmt: skip

    def get_fields(self, request, obj=None):
        return ("batch", "annotator") if obj is None else ("batch", "annotator", *self.readonly)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else ("batch", "annotator", *self.readonly)

    @admin.display(description="progress")
    def progress(self, run: MachineRun) -> str:
        return job_progress_text(run)

    @admin.display(description="against workers")
    def dashboard(self, run: MachineRun) -> str:
        url = reverse("dashboard-batch-machines", args=[run.batch_id])
        return format_html('<a href="{}">agreement, cost</a>', url)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = RunStartForm
        return super().get_form(request, obj, change, **kwargs)

    def save_model(self, request, obj, form, change) -> None:
        if change:  # every field is read-only: its counts are the stored verdicts'
            return
        try:
            with transaction.atomic():
                run = machine_run_start(batch=obj.batch, annotator=obj.annotator)
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error
        obj.pk = run.pk
        obj._state.adding = False

    @admin.action(description="Start again (calls only for items without a verdict)")
    def start_again(self, request, queryset) -> None:
        for run in queryset.select_related("batch", "annotator"):
            machine_run_start(batch=run.batch, annotator=run.annotator)
        self.message_user(request, f"{queryset.count()} run(s) queued.")

    @admin.action(description="Cancel")
    def cancel(self, request, queryset) -> None:
        by = request.user.get_username()
        cancelled = sum(machine_run_cancel(run, by=by) for run in queryset)
        self.message_user(request, f"{cancelled} run(s) cancelled.")


@admin.register(MachineVerdict)
class MachineVerdictAdmin(admin.ModelAdmin):
    """A machine's verdict beside its item: the answer, the reason, every turn."""

    list_display = ("pair", "source", "source_annotator", "harmful", "categories", "status")
    list_filter = ("source", "source_annotator", "batch")
    list_select_related = ("pair",)
    fields = ("pair", "batch", "source", "source_annotator", "item", "answer", "reason",
              "usage", "transcript")  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="harmful")
    def harmful(self, verdict) -> object:
        return verdict.answer.get("harmful")

    @admin.display(description="categories")
    def categories(self, verdict) -> str:
        return ", ".join(verdict.answer.get("categories") or [])

    @admin.display(description="status")
    def status(self, verdict) -> str:
        return verdict.details.get("status", "")

    @admin.display(description="reason")
    def reason(self, verdict) -> str:
        return verdict.details.get("reason", "")

    @admin.display(description="usage")
    def usage(self, verdict) -> str:
        usage = verdict.details.get("usage") or {}
        return ", ".join(f"{name} {value}" for name, value in usage.items())

    @admin.display(description="item")
    def item(self, verdict):
        media = verdict.pair.video_0
        if media.media_type == "image" and media.rendition:
            return format_html('<img src="{}" style="max-width:480px">', media.rendition.url)
        if media.rendition:
            poster = media.poster.url if media.poster else ""
            return format_html(
                '<video src="{}" poster="{}" controls style="max-width:480px"></video>',
                media.rendition.url,
                poster,
            )
        return media.video_id

    @admin.display(description="transcript")
    def transcript(self, verdict):
        return format_html_join(
            "",
            '<div style="margin-bottom:.8em"><strong>{}</strong>'
            '<pre style="white-space:pre-wrap">{}</pre></div>',
            (
                (_speaker(turn), _said(turn.get("content")))
                for turn in verdict.details.get("transcript", [])
            ),
        )


def _speaker(turn: dict) -> str:
    agent = turn.get("agent")
    if agent == "critic":
        return "critic"
    if agent and agent != "judge":
        return f"{agent} debater, round {turn.get('round')}"
    return f"judge — {turn.get('role')}" if agent else str(turn.get("role", ""))


def _said(content) -> str:
    if isinstance(content, list):  # a message's parts: its text, and a note per image
        return "\n".join(
            part.get("text") or part.get("image_url", {}).get("url", "") for part in content
        )
    return str(content or "")
