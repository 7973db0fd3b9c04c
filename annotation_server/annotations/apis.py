"""Submitting a two-stage SafeSora annotation for an assignment (left/right terms)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation_server.accounts.authentication import CallerInStatementMixin
from annotation_server.annotations import services
from annotation_server.assignments.apis import error_responses, parse_assignment_id
from annotation_server.core.parsing import JSONBodyParser, request_data
from annotation_server.core.permissions import IsAnnotatorRole
from annotation_server.core.validation import InputValidator
from annotation_server.taxonomy import HARM_KEYS

SIDE_CHOICES = [("left", "left"), ("right", "right")]
_MAX_MS = 24 * 3600 * 1000


def _side(help_text: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(choices=SIDE_CHOICES, help_text=help_text)


def _harm_list(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=HARM_KEYS),
        max_length=len(HARM_KEYS),
        allow_empty=True,
        **kwargs,
    )


class SubPreferencesSerializer(serializers.Serializer):
    instruction_following = _side("Which video follows the prompt better.")
    correctness = _side("Which video is more plausible, with fewer artefacts.")
    information = _side("Which video conveys more relevant content.")
    aesthetics = _side("Which video looks better.")


class HarmLabelsSerializer(serializers.Serializer):
    left = _harm_list(help_text="Harm keys the left video shows ([] for none).")
    right = _harm_list(help_text="Harm keys the right video shows ([] for none).")


class TimingsSerializer(serializers.Serializer):
    stage1_ms = serializers.IntegerField(
        min_value=0, max_value=_MAX_MS, required=False, allow_null=True
    )
    stage2_ms = serializers.IntegerField(
        min_value=0, max_value=_MAX_MS, required=False, allow_null=True
    )


class SubmitInputSerializer(serializers.Serializer):
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


_SUBMIT_INPUT = InputValidator(SubmitInputSerializer)


class SubmitOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The assignment id.")
    status = serializers.CharField()


class AssignmentSubmitApi(CallerInStatementMixin, APIView):
    """Submit your answers. Repeating the same submit is safe and stores one annotation."""

    permission_classes = [IsAuthenticated, IsAnnotatorRole]
    parser_classes = [JSONBodyParser]

    @extend_schema(
        request=SubmitInputSerializer,
        responses={
            200: SubmitOutputSerializer,
            201: SubmitOutputSerializer,
            **error_responses(400, 401, 403, 404, 409, 415),
        },
    )
    def post(self, request, assignment_id: str):
        assignment_id = parse_assignment_id(assignment_id)
        answers = _SUBMIT_INPUT.validate(request_data(request))
        annotation, created = self.call_service(
            request,
            services.annotation_submit,
            services.annotation_submit_for,  # the caller checked in the submit statement
            assignment_id=assignment_id,
            answers=answers,
        )
        return Response(
            {"id": str(annotation.assignment_id), "status": "submitted"},
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
