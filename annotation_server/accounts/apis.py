from django.contrib.auth import authenticate, logout
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation_server.accounts import access
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.openapi import error_responses
from annotation_server.core.serializers import Serializer


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token (`Authorization: Token …`).

    Failed tries are counted per account and per client address (django-axes, see
    accounts.lockout): at the limit the answer is 429 with `Retry-After`.
    """

    permission_classes = [AllowAny]
    authentication_classes: list = []

    class InputSerializer(Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={
            200: inline_serializer("TokenOut", {"token": serializers.CharField()}),
            **error_responses(400, 415, 429),
        },
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # Django's request: axes flags it when the account or address reaches the limit, and
        # its middleware turns this answer into the 429.
        user = authenticate(request._request, **data.validated_data)
        if user is None or not user.is_active:
            raise ApplicationError(
                "Unable to log in with the given username and password.",
                code="invalid_credentials",
                status_code=400,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class LogoutApi(APIView):
    """Revoke the caller's API token (and end a browser session): the token stops working on
    its next use in every process."""

    @extend_schema(request=None, responses={204: None, **error_responses(401, 403)})
    def post(self, request):
        access.user_tokens_revoke(user=request.user, actor=request.user, reason="logout")
        if request.auth is None:  # a browser session
            logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
