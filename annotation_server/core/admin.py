from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is written by services, never edited by hand."""

    list_display = ("at", "actor", "verb", "target_type", "target_label", "batch")
    list_filter = ("verb", "target_type")
    search_fields = ("target_label", "actor__username", "verb")
    date_hierarchy = "at"
    list_select_related = ("actor", "batch")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
