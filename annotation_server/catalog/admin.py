from django.contrib import admin

from .models import Prompt, Video


@admin.register(Prompt)
class PromptAdmin(admin.ModelAdmin):
    list_display = ("prompt_id", "prompt_type", "short_text", "has_labels", "created_at")
    list_filter = ("prompt_type",)
    search_fields = ("prompt_id", "text")

    @admin.display(description="text")
    def short_text(self, obj):
        return obj.text[:80]

    @admin.display(boolean=True, description="labelled")
    def has_labels(self, obj):
        return obj.prompt_labels is not None


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):
    list_display = ("video_id", "prompt", "generated_from", "status", "failure_reason",
                    "duration_s", "width", "height")
    list_filter = ("status", "generated_from")
    search_fields = ("video_id", "prompt__prompt_id")
    raw_id_fields = ("prompt",)
    readonly_fields = ("uid", "sha256", "probe", "status_changed_at", "attempts")
