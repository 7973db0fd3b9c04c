"""How the OpenAPI schema (drf-spectacular) describes this project's authenticators."""

from drf_spectacular.authentication import SessionScheme


class SessionWithHintScheme(SessionScheme):
    """The session cookie, as for DRF's SessionAuthentication (which ours extends)."""

    target_class = "annotation_server.accounts.authentication.SessionWithHintAuthentication"
