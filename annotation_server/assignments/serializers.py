"""What the worker's browser is shown of an assignment, and what it sends to ask for one.

Responses speak of `left` and `right` only: which of video_0/video_1 is shown where, video
ids, and anything about gold pairs stay on the server. A classification assignment has one
`item` instead, and the `question` its batch asks in the taxonomy version it uses.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation_server.assignments import rules
from annotation_server.assignments.hints import assignment_hint
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.batches.models import Batch
from annotation_server.catalog.models import MediaType
from annotation_server.catalog.selectors import taxonomy_for_display
from annotation_server.core.serializers import Serializer


class SideSerializer(Serializer):
    """One side of the pair, or the item of a classification task (its shape; `side` writes
    it). `video_url` is the web rendition of either media type."""

    media_type = serializers.ChoiceField(choices=MediaType.choices)
    video_url = serializers.CharField()
    poster_url = serializers.CharField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)


def side(video) -> dict:
    """A media item as SideSerializer describes it: URLs by its opaque uid only."""
    return {
        "media_type": video.media_type,
        "video_url": reverse("video-rendition", kwargs={"uid": video.uid}),
        "poster_url": reverse("video-poster", kwargs={"uid": video.uid}) if video.poster else None,
        "duration_s": video.duration_s,
    }


class CategorySerializer(Serializer):
    key = serializers.CharField()
    label_en = serializers.CharField()
    label_zh = serializers.CharField()
    description_en = serializers.CharField(allow_blank=True)
    description_zh = serializers.CharField(allow_blank=True)


class TaxonomyInfoSerializer(Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    categories = CategorySerializer(many=True)


class QuestionSerializer(Serializer):
    """What a classification batch asks about each item (its shape; `question` writes it)."""

    taxonomy = TaxonomyInfoSerializer()
    ask_harmful = serializers.BooleanField()
    ask_categories = serializers.BooleanField()
    ask_reason = serializers.BooleanField()
    ask_confidence = serializers.BooleanField()


def question(batch) -> dict:
    return {
        "taxonomy": taxonomy_for_display(batch.taxonomy_id),
        "ask_harmful": batch.ask_harmful,
        "ask_categories": batch.ask_categories,
        "ask_reason": batch.ask_reason,
        "ask_confidence": batch.ask_confidence,
    }


# Docstrings become the public schema, which names nothing of reference items; that those
# are never hinted is the providers' rule (machines/hints.py).
class HintSerializer(Serializer):
    """Another annotator's answer shown beside the question (assignments/hints.py). Fields
    the batch does not ask are null."""

    harmful = serializers.BooleanField(allow_null=True)
    categories = serializers.ListField(child=serializers.CharField(), allow_null=True)
    by = serializers.ChoiceField(
        choices=[("machine_annotator", "a machine annotator")], help_text="Who says it."
    )


class BatchInfoSerializer(Serializer):
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Batch.Kind.choices)
    instructions = serializers.CharField(allow_blank=True)
    must_watch = serializers.BooleanField()
    blur_videos = serializers.BooleanField()
    label_prompts = serializers.BooleanField()


class PromptInfoSerializer(Serializer):
    text = serializers.CharField()
    prompt_type = serializers.CharField()


# Stateless DRF fields whose formatting the representation below reuses.
_UUID, _DATETIME = serializers.UUIDField(), serializers.DateTimeField()


class AssignmentOutSerializer(Serializer):
    """An assignment as the worker sees it (read from the assignment with its batch, pair,
    prompt and videos loaded: selectors.DISPLAY_RELATED)."""

    # Every claim answers with one, and DRF's field-by-field representation (nested
    # serializers, method fields) cost as much web CPU as the claim statement itself
    # (docs/benchmarks.md). `to_representation` builds the same dict directly; the declared
    # fields stay its schema and DRF's walk over them (`field_representation`) its plain
    # meaning, which `tests/assignments/test_assignment_output.py` compares it with.

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    claimed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    batch = BatchInfoSerializer()
    prompt = PromptInfoSerializer(source="pair.prompt", allow_null=True)
    ask_prompt_labels = serializers.SerializerMethodField(
        help_text="Send `prompt_harm_labels` with the submit for this pair."
    )
    left = serializers.SerializerMethodField(help_text="Pairwise only.")
    right = serializers.SerializerMethodField(help_text="Pairwise only.")
    item = serializers.SerializerMethodField(help_text="Classification only: the one item.")
    question = serializers.SerializerMethodField(help_text="Classification only.")
    hint = serializers.SerializerMethodField(
        help_text="Classification only: a suggested answer to show beside the question."
    )

    def get_ask_prompt_labels(self, assignment) -> bool:
        return rules.asks_prompt_labels(batch=assignment.batch, prompt=assignment.pair.prompt)

    @extend_schema_field(SideSerializer(allow_null=True))
    def get_left(self, assignment) -> dict | None:
        pair = assignment.pair
        if pair.video_1_id is None:
            return None
        return side(pair.video_0 if assignment.left_is_video_0 else pair.video_1)

    @extend_schema_field(SideSerializer(allow_null=True))
    def get_right(self, assignment) -> dict | None:
        pair = assignment.pair
        if pair.video_1_id is None:
            return None
        return side(pair.video_1 if assignment.left_is_video_0 else pair.video_0)

    @extend_schema_field(SideSerializer(allow_null=True))
    def get_item(self, assignment) -> dict | None:
        pair = assignment.pair
        return side(pair.video_0) if pair.video_1_id is None else None

    @extend_schema_field(QuestionSerializer(allow_null=True))
    def get_question(self, assignment) -> dict | None:
        if assignment.batch.kind != Batch.Kind.CLASSIFICATION:
            return None
        return question(assignment.batch)

    @extend_schema_field(HintSerializer(allow_null=True))
    def get_hint(self, assignment) -> dict | None:
        return assignment_hint(assignment)

    def to_representation(self, assignment):
        batch, pair = assignment.batch, assignment.pair
        prompt = pair.prompt
        return {
            "id": _UUID.to_representation(assignment.id),
            "status": str(assignment.status),
            "claimed_at": _DATETIME.to_representation(assignment.claimed_at),
            "expires_at": _DATETIME.to_representation(assignment.expires_at),
            "batch": {
                "name": batch.name,
                "kind": str(batch.kind),
                "instructions": batch.instructions,
                "must_watch": bool(batch.must_watch),
                "blur_videos": bool(batch.blur_videos),
                "label_prompts": bool(batch.label_prompts),
            },
            "prompt": (
                None if prompt is None else {"text": prompt.text, "prompt_type": prompt.prompt_type}
            ),
            "ask_prompt_labels": self.get_ask_prompt_labels(assignment),
            "left": self.get_left(assignment),
            "right": self.get_right(assignment),
            "item": self.get_item(assignment),
            "question": self.get_question(assignment),
            "hint": self.get_hint(assignment),
        }

    def field_representation(self, assignment):
        """DRF's representation, field by field (what `to_representation` means)."""
        return super().to_representation(assignment)


class NextInputSerializer(Serializer):
    batch = serializers.CharField(
        max_length=128, required=False, help_text="Only work from this batch."
    )
    prefetch = serializers.BooleanField(
        default=False,
        help_text="Return a second open assignment to preload, not the current one.",
    )


class GiveUpInputSerializer(Serializer):
    reason = serializers.ChoiceField(choices=PairReport.Reason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class GiveUpOutSerializer(Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
