from django.contrib import admin

from .models import Batch, Pair


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("name", "status", "overlap", "priority", "owner", "created_at")
    list_filter = ("status",)
    search_fields = ("name",)
    filter_horizontal = ("groups",)


@admin.register(Pair)
class PairAdmin(admin.ModelAdmin):
    list_display = ("pair_id", "batch", "prompt", "active", "is_gold", "taken", "submitted")
    list_filter = ("batch", "active", "is_gold")
    search_fields = ("pair_id", "prompt__prompt_id")
    raw_id_fields = ("prompt", "video_0", "video_1")
