"""What the worker's browser is shown of an assignment, and what it sends to ask for one.

Responses speak of `left` and `right` only: which of video_0/video_1 is shown where, video
ids, and anything about gold pairs stay on the server.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from annotation_server.assignments import rules
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.core.serializers import Serializer


class SideSerializer(Serializer):
    """One side of the pair (its shape; `side` writes it)."""

    video_url = serializers.CharField()
    poster_url = serializers.CharField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)


def side(video) -> dict:
    """A video as SideSerializer describes it: URLs by the video's opaque uid only."""
    return {
        "video_url": reverse("video-rendition", kwargs={"uid": video.uid}),
        "poster_url": reverse("video-poster", kwargs={"uid": video.uid}) if video.poster else None,
        "duration_s": video.duration_s,
    }


class BatchInfoSerializer(Serializer):
    name = serializers.CharField()
    instructions = serializers.CharField(allow_blank=True)
    must_watch = serializers.BooleanField()
    blur_videos = serializers.BooleanField()
    label_prompts = serializers.BooleanField()


class PromptInfoSerializer(Serializer):
    text = serializers.CharField()
    prompt_type = serializers.CharField()


class AssignmentOutSerializer(Serializer):
    """An assignment as the worker sees it (read from the assignment with its batch, pair,
    prompt and videos loaded: selectors.DISPLAY_RELATED)."""

    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    claimed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    batch = BatchInfoSerializer()
    prompt = PromptInfoSerializer(source="pair.prompt")
    ask_prompt_labels = serializers.SerializerMethodField(
        help_text="Send `prompt_harm_labels` with the submit for this pair."
    )
    left = serializers.SerializerMethodField()
    right = serializers.SerializerMethodField()

    def get_ask_prompt_labels(self, assignment) -> bool:
        return rules.asks_prompt_labels(batch=assignment.batch, prompt=assignment.pair.prompt)

    @extend_schema_field(SideSerializer)
    def get_left(self, assignment) -> dict:
        pair = assignment.pair
        return side(pair.video_0 if assignment.left_is_video_0 else pair.video_1)

    @extend_schema_field(SideSerializer)
    def get_right(self, assignment) -> dict:
        pair = assignment.pair
        return side(pair.video_1 if assignment.left_is_video_0 else pair.video_0)


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
