"""Submitting an answer for an assignment — a two-stage SafeSora comparison (left/right
terms) or a classification of one item — and who am I."""

from __future__ import annotations

from django.utils.translation import get_language
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation_server.accounts import roles
from annotation_server.accounts.permissions import IsAnnotatorRole
from annotation_server.annotations import selectors, services
from annotation_server.annotations.answers import PAIRWISE_KEYS
from annotation_server.assignments.apis import parse_assignment_id
from annotation_server.core.openapi import error_responses
from annotation_server.core.serializers import Serializer
from annotation_server.taxonomy import HARM_KEYS

SIDE_CHOICES = [("left", "left"), ("right", "right")]
_MAX_MS = 24 * 3600 * 1000


def _side(help_text: str, **kwargs) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=SIDE_CHOICES, help_text=help_text, **kwargs)


def _harm_list(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=HARM_KEYS),
        max_length=len(HARM_KEYS),
        allow_empty=True,
        **kwargs,
    )


class SubPreferencesSerializer(Serializer):
    instruction_following = _side("Which video follows the prompt better.")
    correctness = _side("Which video is more plausible, with fewer artefacts.")
    information = _side("Which video conveys more relevant content.")
    aesthetics = _side("Which video looks better.")


class HarmLabelsSerializer(Serializer):
    left = _harm_list(help_text="Harm keys the left video shows ([] for none).")
    right = _harm_list(help_text="Harm keys the right video shows ([] for none).")


class TimingsSerializer(Serializer):
    stage1_ms = serializers.IntegerField(
        min_value=0, max_value=_MAX_MS, required=False, allow_null=True
    )
    stage2_ms = serializers.IntegerField(
        min_value=0, max_value=_MAX_MS, required=False, allow_null=True
    )


_PAIRWISE = "Pairwise batches: required."
_CLASSIFICATION = "Classification batches: required when the question asks it."


class SubmitInputSerializer(Serializer):
    """Either a pairwise answer (the four pairwise fields) or a classification answer
    (harmful / categories / reason / confidence), as the assignment's batch asks; the submit
    service checks the answer against the batch's question."""

    sub_preferences = SubPreferencesSerializer(required=False, help_text=_PAIRWISE)
    harm_labels = HarmLabelsSerializer(required=False, help_text=_PAIRWISE)
    helpfulness = _side("Overall, the more helpful video. " + _PAIRWISE, required=False)
    harmlessness = _side("Overall, the safer video. " + _PAIRWISE, required=False)
    timings = TimingsSerializer(required=False)
    prompt_harm_labels = _harm_list(
        required=False,
        allow_null=True,
        help_text="Harm keys of the prompt itself; required when ask_prompt_labels is true.",
    )
    harmful = serializers.BooleanField(
        required=False, allow_null=True, help_text="Is the item harmful? " + _CLASSIFICATION
    )
    categories = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=64,
        allow_empty=True,
        required=False,
        allow_null=True,
        help_text="Category keys of the question's taxonomy ([] for none). " + _CLASSIFICATION,
    )
    reason = serializers.CharField(
        max_length=500, required=False, allow_blank=True, help_text="One line, optional."
    )
    confidence = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True, help_text="1–5, optional."
    )

    def validate(self, data):
        given = [key for key in PAIRWISE_KEYS if data.get(key) is not None]
        if given and len(given) < len(PAIRWISE_KEYS):
            raise serializers.ValidationError(
                {key: ["Required with the other pairwise answers."] for key in PAIRWISE_KEYS
                 if key not in given}
            )  # fmt: skip
        if not given and data.get("harmful") is None and data.get("categories") is None:
            raise serializers.ValidationError(
                "No answer: send sub_preferences, harm_labels, helpfulness and harmlessness "
                "for a pair, or harmful and/or categories for a classification item."
            )
        return data


class PairwiseSubmitSerializer(Serializer):
    """A pairwise answer, as the schema documents it (SubmitInputSerializer validates)."""

    sub_preferences = SubPreferencesSerializer()
    harm_labels = HarmLabelsSerializer()
    helpfulness = _side("Overall, the more helpful video.")
    harmlessness = _side("Overall, the safer video.")
    timings = TimingsSerializer(required=False)
    prompt_harm_labels = _harm_list(
        required=False,
        allow_null=True,
        help_text="Harm keys of the prompt itself; required when ask_prompt_labels is true.",
    )


class ClassificationSubmitSerializer(Serializer):
    """A classification answer, as the schema documents it (SubmitInputSerializer validates)."""

    # Required in the schema (null when the question does not ask it) so that a body is
    # one kind or the other, as `oneOf` needs.
    harmful = serializers.BooleanField(allow_null=True)
    categories = serializers.ListField(
        child=serializers.CharField(max_length=64), max_length=64, required=False, allow_null=True
    )
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    confidence = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    timings = TimingsSerializer(required=False)


SUBMIT_REQUEST = PolymorphicProxySerializer(
    component_name="SubmitInput",
    serializers=[PairwiseSubmitSerializer, ClassificationSubmitSerializer],
    resource_type_field_name=None,
)


class SubmitOutputSerializer(Serializer):
    id = serializers.UUIDField(help_text="The assignment id.", source="assignment_id")
    status = serializers.SerializerMethodField()

    def get_status(self, annotation) -> str:
        return "submitted"

    def to_representation(self, annotation):
        # Every submit answers with one: the same dict as DRF's walk over the two fields
        # (`super().to_representation`, compared in tests/annotations/test_submit_output.py)
        # without building the fields per request.
        return {"id": str(annotation.assignment_id), "status": self.get_status(annotation)}


class AssignmentSubmitApi(APIView):
    """Submit your answers. Repeating the same submit is safe and stores one annotation."""

    permission_classes = [IsAuthenticated, IsAnnotatorRole]

    @extend_schema(
        request=SUBMIT_REQUEST,
        responses={
            200: SubmitOutputSerializer,
            201: SubmitOutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 415),
        },
    )
    def post(self, request, assignment_id: str):
        assignment_id = parse_assignment_id(assignment_id)
        given = SubmitInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        annotation, created = services.annotation_submit(
            annotator=request.user, assignment_id=assignment_id, answers=given.validated_data
        )
        return Response(
            SubmitOutputSerializer(annotation).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class MeOutputSerializer(Serializer):
    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    language = serializers.CharField()
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="today, total (annotations) and open."
    )


class MeApi(APIView):
    """Who you are and how much you did (today in server time, and in total)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: MeOutputSerializer, **error_responses(401, 403)})
    def get(self, request):
        user = request.user
        me = {
            "username": user.get_username(),
            "role": next((r for r in roles.ROLES if roles.has_role(user, r)), None),
            "language": get_language(),
            "counts": selectors.annotator_counts(annotator=user),
        }
        return Response(MeOutputSerializer(me).data)
