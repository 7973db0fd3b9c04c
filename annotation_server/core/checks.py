"""Deployment checks of our own, run by `manage.py check --deploy`."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register

# The embedded default in settings.py: public in the repository, so never fit for production.
EMBEDDED_SECRET_KEY = "insecure-embedded-default-change-me-in-production-0123456789"


@register(Tags.security, deploy=True)
def check_secret_key_is_not_the_embedded_default(app_configs=None, **kwargs) -> list[Warning]:
    if settings.SECRET_KEY != EMBEDDED_SECRET_KEY:
        return []
    return [
        Warning(
            "DJANGO_SECRET_KEY is the embedded default, which is public in the repository.",
            hint="Set DJANGO_SECRET_KEY in .env to a long random value "
            "(see deploy/production.env.example).",
            id="core.W001",
        )
    ]


@register(Tags.security, deploy=True)
def check_media_is_served_by_nginx(app_configs=None, **kwargs) -> list[Warning]:
    if settings.MEDIA_SERVE_BACKEND == "nginx" or settings.STORAGE_BACKEND != "filesystem":
        return []
    return [
        Warning(
            "Videos are streamed by the Django processes (MEDIA_SERVE_BACKEND=django): each "
            "playing video holds a web thread.",
            hint="Behind nginx set MEDIA_SERVE_BACKEND=nginx (docs/operations.md).",
            id="core.W002",
        )
    ]


@register(Tags.security, deploy=True)
def check_s3_media_origin_is_allowed(app_configs=None, **kwargs) -> list[Warning]:
    """With object storage the video URLs redirect to the bucket: the CSP must allow it."""
    if settings.STORAGE_BACKEND != "s3":
        return []
    origin = _storage_origin()
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None) or getattr(
        settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None
    )
    directives = (policy or {}).get("DIRECTIVES", {})
    if origin is None or all(
        _source_list_allows(directives.get(name, directives.get("default-src")), origin)
        for name in ("media-src", "img-src")
    ):
        return []
    return [
        Warning(
            f"STORAGE_BACKEND=s3: videos and posters redirect to signed URLs on {origin}, "
            "which the content security policy does not allow, so browsers will not play them.",
            hint=f"Add {origin} to CSP_EXTRA_MEDIA_SRC in .env (docs/operations.md, "
            "'Media storage').",
            id="core.W003",
        )
    ]


def _storage_origin() -> str | None:
    """scheme://host[:port] of the storage's object URLs; None when it cannot sign one."""
    from django.core.files.storage import default_storage

    try:
        url = default_storage.url("csp-origin-check")
    except Exception:  # no credentials or no network: other checks and /readyz report that
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _source_list_allows(sources: list[str] | None, origin: str) -> bool:
    """Whether a CSP source list admits `origin` (exact, scheme-only or *.host sources)."""
    if sources is None:
        return True  # no policy for this kind of resource
    scheme, host = origin.split("://", 1)
    for source in sources:
        source = source.rstrip("/")
        if source in ("*", f"{scheme}:", origin, host):
            return True
        if "*." in source:
            prefix, suffix = source.split("*", 1)
            if prefix in ("", f"{scheme}://") and host.endswith(suffix):
                return True
    return False
