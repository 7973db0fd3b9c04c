from django.contrib import admin

from annotation_server.annotations.forms import GoldPairForm
from annotation_server.batches.models import Pair

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


# Pairs are edited here, beside the answers, because a gold pair's expected answer is checked
# by the answer rules (annotations/answers.py), which the batches app sits below.
@admin.register(Pair)
class PairAdmin(admin.ModelAdmin):
    list_display = ("pair_id", "batch", "prompt", "active", "is_gold", "taken")
    list_filter = ("batch", "active", "is_gold")
    search_fields = ("pair_id", "prompt__prompt_id")
    raw_id_fields = ("prompt", "video_0", "video_1")
    # Gold answers are validated (shape in annotations/answers.py); the counters belong to
    # the claim service, which keeps them under row locks.
    form = GoldPairForm
    readonly_fields = ("taken",)
