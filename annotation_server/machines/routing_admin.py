"""Admin of batch routings: the deciding versions, the audit share, what counts as unsure;
the last routing's summary on the change page; an action that routes the chosen batches.
And of batch hints: whether workers see a machine version's verdict, and which."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.loader import render_to_string

from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError

from .routing import outcome_text, route_batch, routing_summary
from .routing_models import BatchHints, BatchRouting, HintShown


class RoutingForm(forms.ModelForm):
    class Meta:
        model = BatchRouting
        fields = ("batch", "annotators", "audit_share", "flagged_unsure", "categories_must_agree")

    def clean(self):
        data = super().clean()
        batch = data.get("batch")
        if batch is not None and (
            batch.kind != Batch.Kind.CLASSIFICATION or batch.taxonomy_id is None
        ):
            self.add_error("batch", "Only classification batches route.")
        share = data.get("audit_share")
        if share is not None and not 0 <= share <= 1:
            self.add_error("audit_share", "A share lies between 0 and 1.")
        return data


@admin.register(BatchRouting)
class BatchRoutingAdmin(admin.ModelAdmin):
    form = RoutingForm
    list_display = ("batch", "versions", "audit_share", "routed_at", "settled", "saved")
    filter_horizontal = ("annotators",)
    readonly_fields = ("seed", "routed_at", "routed_by", "summary")
    actions = ("route_now",)

    def get_fields(self, request, obj=None):
        fields = ("batch", "annotators", "audit_share", "flagged_unsure", "categories_must_agree")
        return fields if obj is None else (*fields, *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        # The batch of a routing never changes: its decisions and credits belong to it.
        return () if obj is None else ("batch", *self.readonly_fields)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "batch":
            kwargs["queryset"] = Batch.objects.filter(kind=Batch.Kind.CLASSIFICATION)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("batch").prefetch_related("annotators")

    @admin.display(description="deciding versions")
    def versions(self, routing: BatchRouting) -> str:
        return ", ".join(str(v) for v in routing.annotators.all())

    @admin.display(description="settled")
    def settled(self, routing: BatchRouting):
        return routing.last_counts.get("settled", "—")

    @admin.display(description="judgements saved")
    def saved(self, routing: BatchRouting):
        return routing.last_counts.get("saved", "—")

    @admin.display(description="last routing")
    def summary(self, routing: BatchRouting) -> str:
        summary = routing_summary(routing.batch)
        if summary is None:
            return "Not routed yet: use the action “Route now” on the list."
        return render_to_string("machines/_routing.html", {"routing": summary})

    @admin.action(description="Route now (settle what the machines agree on)")
    def route_now(self, request, queryset) -> None:
        by = request.user.get_username()
        for routing in queryset.select_related("batch"):
            try:
                outcome = route_batch(routing.batch, by=by)
            except ApplicationError as error:
                self.message_user(request, error.message, messages.ERROR)
                continue
            self.message_user(request, outcome_text(routing.batch, outcome))


class HintsForm(forms.ModelForm):
    class Meta:
        model = BatchHints
        fields = ("batch", "enabled", "annotator")

    def clean(self):
        data = super().clean()
        batch = data.get("batch") or getattr(self.instance, "batch", None)
        if batch is not None and (
            batch.kind != Batch.Kind.CLASSIFICATION or batch.taxonomy_id is None
        ):
            self.add_error("batch", "Only classification batches show hints.")
        if data.get("enabled") and data.get("annotator") is None:
            self.add_error("annotator", "Name the version whose verdict the workers see.")
        return data


@admin.register(BatchHints)
class BatchHintsAdmin(admin.ModelAdmin):
    form = HintsForm
    list_display = ("batch", "enabled", "annotator", "shown", "changed_at")
    list_filter = ("enabled",)

    def get_fields(self, request, obj=None):
        fields = ("batch", "enabled", "annotator")
        return fields if obj is None else (*fields, "seed", "changed_at")

    def get_readonly_fields(self, request, obj=None):
        # The seed fixes which half is hinted: kept, so switching hints off and on again
        # hints the same items.
        return () if obj is None else ("batch", "seed", "changed_at")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "batch":
            kwargs["queryset"] = Batch.objects.filter(kind=Batch.Kind.CLASSIFICATION)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("batch", "annotator")

    @admin.display(description="assignments shown a hint")
    def shown(self, hints: BatchHints) -> int:
        return HintShown.objects.filter(batch_id=hints.batch_id).count()
