"""Admin form for pairs: gold answers are checked before they are stored."""

from __future__ import annotations

from django import forms

from annotation_server.annotations.answers import validate_gold_answer
from annotation_server.batches.models import Pair


class GoldPairForm(forms.ModelForm):
    """Pair form that refuses a gold pair without a usable expected answer."""

    class Meta:
        model = Pair
        fields = (
            "batch",
            "prompt",
            "video_0",
            "video_1",
            "pair_id",
            "active",
            "is_gold",
            "gold_answer",
        )
        help_texts = {
            "gold_answer": (
                'Expected answer in video_0/video_1 terms, any subset, e.g. {"helpfulness": '
                '"video_0", "harmlessness": "video_1", "sub_preferences": {"aesthetics": '
                '"video_0"}, "video_0_harms": ["violence"], "video_1_harms": []}.'
            ),
        }

    def clean(self):
        data = super().clean()
        if data.get("is_gold"):
            problems = validate_gold_answer(data.get("gold_answer"))
            if problems:
                self.add_error("gold_answer", "; ".join(problems))
        elif data.get("gold_answer") is not None:
            self.add_error("is_gold", "Tick 'is gold' to use the gold answer, or clear it.")
        return data
