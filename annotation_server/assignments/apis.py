"""The worker API for task distribution: claim the next pair, read it, skip or report it."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation_server.accounts.permissions import IsAnnotatorRole
from annotation_server.assignments import claim, give_up, selectors
from annotation_server.assignments.models import PairReport
from annotation_server.assignments.serializers import (
    AssignmentOutSerializer,
    GiveUpInputSerializer,
    GiveUpOutSerializer,
    NextInputSerializer,
)
from annotation_server.core.exceptions import NotFoundError
from annotation_server.core.openapi import error_responses


def parse_assignment_id(value: str) -> uuid.UUID:
    """An assignment id from the URL. Path ids are parsed here (not by a <uuid:> converter)
    so that a malformed id gets the API's JSON 404 instead of Django's HTML page."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFoundError("No such assignment of yours.", code="assignment_not_found") from None


class AssignmentNextApi(APIView):
    """Resume your open assignment, or claim the next pair (204 when nothing is left)."""

    permission_classes = [IsAuthenticated, IsAnnotatorRole]

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
        given = NextInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        prefetch = given.validated_data["prefetch"] or request.query_params.get("prefetch") in (
            "1",
            "true",
            "yes",
        )
        assignment = claim.assignment_claim_next(
            annotator=request.user,
            batch_name=given.validated_data.get("batch"),
            prefetch=prefetch,
        )
        if assignment is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return Response(AssignmentOutSerializer(assignment).data)


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
        return Response(AssignmentOutSerializer(assignment).data)


class _GiveUpApi(APIView):
    permission_classes = [IsAuthenticated, IsAnnotatorRole]
    kind = ""

    def post(self, request, assignment_id: str):
        assignment_id = parse_assignment_id(assignment_id)
        given = GiveUpInputSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        assignment = give_up.assignment_give_up(
            annotator=request.user,
            assignment_id=assignment_id,
            kind=self.kind,
            **given.validated_data,
        )
        return Response(GiveUpOutSerializer(assignment).data)


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
