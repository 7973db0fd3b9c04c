from django.contrib import admin, messages

from annotation_server import taxonomy
from annotation_server.accounts import roles
from annotation_server.core.exceptions import ApplicationError

from . import queueing, taxonomy_admin  # noqa: F401 (registers the taxonomy admin)
from .forms import PromptLabelsForm
from .models import Prompt, Video


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    form = PromptLabelsForm
    list_display = ("prompt_id", "prompt_type", "short_text", "has_labels", "created_at")
    list_filter = ("prompt_type", ("prompt_labels", admin.EmptyFieldListFilter))
    search_fields = ("prompt_id", "text")

    def get_fieldsets(self, request, obj=None):
        harms = tuple(f"harm_{key}" for key in taxonomy.HARM_KEYS)
        return (
            (None, {"fields": ("prompt_id", "text", "prompt_type")}),
            ("Prompt harm labels (SafeSora prompt_labels)", {"fields": ("labelled", *harms)}),
        )

    def get_readonly_fields(self, request, obj=None):
        # Reviewers may correct labels but not rewrite the prompt itself.
        if obj is not None and not roles.is_admin(request.user):
            return ("prompt_id", "text", "prompt_type")
        return ()

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]

    @admin.display(boolean=True, description="labelled")
    def has_labels(self, obj):
        return obj.prompt_labels is not None


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = (
        "video_id",
        "prompt",
        "generated_from",
        "status",
        "failure_reason",
        "duration_s",
        "width",
        "height",
    )
    list_filter = ("status", "generated_from")
    search_fields = ("video_id", "prompt__prompt_id")
    raw_id_fields = ("prompt",)
    readonly_fields = ("uid", "sha256", "probe", "status_changed_at", "attempts")
    actions = ["retry_transcoding"]

    def has_view_permission(self, request, obj=None):
        # Role groups carry no model permissions: reviewers and admins see the video list.
        return roles.is_reviewer(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return roles.is_reviewer(request.user) or super().has_module_permission(request)

    def has_retry_permission(self, request):
        return roles.is_admin(request.user)

    @admin.action(
        description="Retry transcoding of the selected failed videos", permissions=["retry"]
    )
    def retry_transcoding(self, request, queryset):
        pks = list(queryset.values_list("pk", flat=True))
        try:
            count = queueing.videos_retry(video_pks=pks)
        except ApplicationError as exc:
            self.message_user(request, exc.message, level=messages.WARNING)
            return
        waiting = queueing.videos_waiting_for_queue(video_pks=pks)
        if waiting:
            self.message_user(request, queueing.unqueued_message(waiting), level=messages.WARNING)
            return
        self.message_user(request, f"{count} video(s) queued for transcoding again.")
