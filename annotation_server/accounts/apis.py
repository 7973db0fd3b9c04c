from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from annotation_server.core.exceptions import ApplicationError


class TokenObtainApi(APIView):
    """Exchange a username and password for an API token (`Authorization: Token …`)."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    throttle_scope = "auth"

    class InputSerializer(serializers.Serializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

    @extend_schema(
        request=InputSerializer,
        responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()})},
    )
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request, **data.validated_data)
        if user is None or not user.is_active:
            raise ApplicationError(
                "Unable to log in with the given username and password.",
                code="invalid_credentials",
                status_code=400,
            )
        token, _ = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})
