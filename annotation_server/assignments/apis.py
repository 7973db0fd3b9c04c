"""The worker API: claim the next pair, read it, skip or report it; who am I.

Responses speak of `left` and `right` only: which of video_0/video_1 is shown where, video
ids, and anything about gold pairs stay on the server.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid

from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation_server.accounts import roles
from annotation_server.accounts.authentication import CallerInStatementMixin
from annotation_server.assignments import selectors, services
from annotation_server.assignments.claim_sql import ClaimDisplay
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.core.exceptions import NotFoundError
from annotation_server.core.parsing import JSONBodyParser, request_data
from annotation_server.core.permissions import IsAnnotatorRole
from annotation_server.core.validation import InputValidator


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(help_text="A stable machine-readable code.")
    errors = serializers.DictField(required=False, help_text="Field name → problems.")


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description="Error") for code in codes}


class SideSerializer(serializers.Serializer):
    video_url = serializers.CharField()
    poster_url = serializers.CharField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)


class BatchInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    instructions = serializers.CharField(allow_blank=True)
    must_watch = serializers.BooleanField()
    blur_videos = serializers.BooleanField()
    label_prompts = serializers.BooleanField()


class PromptInfoSerializer(serializers.Serializer):
    text = serializers.CharField()
    prompt_type = serializers.CharField()


class AssignmentOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)
    claimed_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    batch = BatchInfoSerializer()
    prompt = PromptInfoSerializer()
    ask_prompt_labels = serializers.BooleanField(
        help_text="Send `prompt_harm_labels` with the submit for this pair."
    )
    left = SideSerializer()
    right = SideSerializer()


_UID_MARKER = uuid.UUID(int=0)


@functools.cache
def _video_url_template(name: str, script_prefix: str) -> str:
    # reverse() once per URL name and script prefix; each claim then only formats two URLs.
    return reverse(name, kwargs={"uid": _UID_MARKER}).replace(str(_UID_MARKER), "{}")


def _side(uid: uuid.UUID, poster, duration_s, script_prefix: str) -> dict:
    uid = str(uid)
    return {
        "video_url": _video_url_template("video-rendition", script_prefix).format(uid),
        "poster_url": (
            _video_url_template("video-poster", script_prefix).format(uid) if poster else None
        ),
        "duration_s": duration_s,
    }


def datetime_text(value: dt.datetime, zone: dt.tzinfo) -> str:
    """An aware datetime as DRF's DateTimeField writes it (ISO 8601 in the current time zone,
    `Z` for UTC), with the zone looked up once per response rather than once per value."""
    text = value.astimezone(zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def assignment_present(assignment: Assignment) -> dict:
    """The browser's view of an assignment (left/right only, nothing about gold)."""
    display = getattr(assignment, "display", None)
    if display is None:  # a resumed or fully loaded assignment: read its models
        pair, batch = assignment.pair, assignment.batch
        display = ClaimDisplay(
            batch.name,
            batch.instructions,
            batch.must_watch,
            batch.blur_videos,
            batch.label_prompts,
            pair.prompt.text,
            pair.prompt.prompt_type,
            pair.prompt.prompt_labels is None,
            *(
                (video.uid, video.poster, video.duration_s)
                for video in (pair.video_0, pair.video_1)
            ),
        )
    left, right = (
        (display.video_0, display.video_1)
        if assignment.left_is_video_0
        else (display.video_1, display.video_0)
    )
    # Both are context-local lookups (asgiref), each costing more than formatting a value.
    zone, script_prefix = timezone.get_current_timezone(), get_script_prefix()
    return {
        "id": str(assignment.pk),
        "status": assignment.status,
        "claimed_at": datetime_text(assignment.claimed_at, zone),
        "expires_at": datetime_text(assignment.expires_at, zone),
        "batch": {
            "name": display.batch_name,
            "instructions": display.instructions,
            "must_watch": display.must_watch,
            "blur_videos": display.blur_videos,
            "label_prompts": display.label_prompts,
        },
        "prompt": {"text": display.prompt_text, "prompt_type": display.prompt_type},
        "ask_prompt_labels": display.asks_prompt_labels,
        "left": _side(*left, script_prefix),
        "right": _side(*right, script_prefix),
    }


def parse_assignment_id(value: str) -> uuid.UUID:
    # Path ids are parsed here (not by a <uuid:> converter) so a malformed id gets the
    # API's JSON 404 instead of Django's HTML page.
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFoundError("No such assignment of yours.", code="assignment_not_found") from None


class NextInputSerializer(serializers.Serializer):
    batch = serializers.CharField(
        max_length=128, required=False, help_text="Only work from this batch."
    )
    prefetch = serializers.BooleanField(
        default=False,
        help_text="Return a second open assignment to preload, not the current one.",
    )


_NEXT_INPUT = InputValidator(NextInputSerializer)


class AssignmentNextApi(CallerInStatementMixin, APIView):
    """Resume your open assignment, or claim the next pair (204 when nothing is left)."""

    permission_classes = [IsAuthenticated, IsAnnotatorRole]
    parser_classes = [JSONBodyParser]

    @extend_schema(
        request=NextInputSerializer,
        parameters=[OpenApiParameter("prefetch", bool, description="Same as the body field.")],
        responses={
            200: AssignmentOutSerializer,
            204: OpenApiResponse(None, description="Nothing left to annotate for you."),
            **error_responses(400, 401, 403, 404, 409, 415),
        },
    )
    def post(self, request):
        data = _NEXT_INPUT.validate(request_data(request))
        prefetch = data["prefetch"] or request.query_params.get("prefetch") in ("1", "true", "yes")
        assignment = self.call_service(
            request,
            services.assignment_claim_next,
            services.assignment_claim_next_for,  # the caller checked in the claim statement
            batch_name=data.get("batch"),
            prefetch=prefetch,
        )
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(assignment_present(assignment))


class AssignmentDetailApi(APIView):
    """One of your own assignments."""

    permission_classes = [IsAuthenticated, IsAnnotatorRole]

    @extend_schema(responses={200: AssignmentOutSerializer, **error_responses(401, 403, 404)})
    def get(self, request, assignment_id: str):
        assignment = selectors.assignment_get_own(
            annotator=request.user, assignment_id=parse_assignment_id(assignment_id)
        )
        if assignment is None:
            raise NotFoundError("No such assignment of yours.", code="assignment_not_found")
        return Response(assignment_present(assignment))


class GiveUpInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=PairReport.Reason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


_GIVE_UP_INPUT = InputValidator(GiveUpInputSerializer)


class GiveUpOutSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Assignment.Status.choices)


class _GiveUpApi(CallerInStatementMixin, APIView):
    permission_classes = [IsAuthenticated, IsAnnotatorRole]
    parser_classes = [JSONBodyParser]
    kind = ""

    def post(self, request, assignment_id: str):
        assignment_id = parse_assignment_id(assignment_id)
        given = _GIVE_UP_INPUT.validate(request_data(request))
        assignment = self.call_service(
            request,
            services.assignment_give_up,
            services.assignment_give_up_for,  # the caller checked in the give-up statement
            assignment_id=assignment_id,
            kind=self.kind,
            **given,
        )
        return Response({"id": str(assignment.pk), "status": assignment.status})


_GIVE_UP_SCHEMA = extend_schema(
    request=GiveUpInputSerializer,
    responses={200: GiveUpOutSerializer, **error_responses(400, 401, 403, 404, 409, 415)},
)


class AssignmentSkipApi(_GiveUpApi):
    """Skip a pair: the slot goes to someone else and you never get this pair again."""

    kind = PairReport.Kind.SKIP

    @_GIVE_UP_SCHEMA
    def post(self, request, assignment_id: str):
        return super().post(request, assignment_id)


class AssignmentReportApi(_GiveUpApi):
    """Report a broken pair (bad video, wrong prompt); the report reaches the admins."""

    kind = PairReport.Kind.REPORT

    @_GIVE_UP_SCHEMA
    def post(self, request, assignment_id: str):
        return super().post(request, assignment_id)


class MeOutputSerializer(serializers.Serializer):
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
        role = next((r for r in roles.ROLES if roles.has_role(user, r)), None)
        return Response(
            {
                "username": user.get_username(),
                "role": role,
                "language": get_language(),
                "counts": selectors.annotator_counts(annotator=user),
            }
        )


class PingOutputSerializer(serializers.Serializer):
    ok = serializers.BooleanField()


class PingApi(APIView):
    """A trivial authenticated endpoint: checks the token or session, touches nothing else."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: PingOutputSerializer, **error_responses(401, 403)})
    def get(self, request):
        return Response({"ok": True})
