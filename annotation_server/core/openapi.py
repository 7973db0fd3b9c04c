"""How the API's errors are described in the OpenAPI schema (every view shares one shape)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from annotation_server.core.serializers import Serializer


class ErrorSerializer(Serializer):
    detail = serializers.CharField(help_text="What went wrong, for a person to read.")
    code = serializers.CharField(help_text="A stable machine-readable code.")
    errors = serializers.DictField(required=False, help_text="Field name → problems.")


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(ErrorSerializer, description="Error") for code in codes}
