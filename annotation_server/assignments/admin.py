from django.contrib import admin

from .models import Assignment, PairReport


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("id", "batch", "pair", "annotator", "status", "claimed_at", "expires_at")
    list_filter = ("status", "batch")
    raw_id_fields = ("pair", "annotator", "batch")


@admin.register(PairReport)
class PairReportAdmin(admin.ModelAdmin):
    list_display = ("pair", "annotator", "kind", "reason", "note", "resolved", "created_at")
    list_filter = ("kind", "reason", "resolved")
    raw_id_fields = ("pair", "annotator", "assignment")
