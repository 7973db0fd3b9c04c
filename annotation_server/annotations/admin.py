from django.contrib import admin

from .models import Annotation


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "batch",
        "pair",
        "annotator",
        "helpfulness",
        "harmlessness",
        "is_gold",
        "gold_score",
        "rejected",
        "created_at",
    )
    list_filter = ("batch", "is_gold", "rejected")
    raw_id_fields = ("pair", "annotator", "batch", "assignment")
