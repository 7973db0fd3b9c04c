"""A trivial authenticated endpoint: what any API request costs before its own work."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation_server.core.openapi import error_responses
from annotation_server.core.serializers import Serializer


class PingOutputSerializer(Serializer):
    ok = serializers.BooleanField()


class PingApi(APIView):
    """Checks the token or session, touches nothing else."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: PingOutputSerializer, **error_responses(401, 403)})
    def get(self, request):
        return Response(PingOutputSerializer({"ok": True}).data)
