"""Deployment checks of our own, run by `manage.py check --deploy`."""

from __future__ import annotations

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
def check_s3_storage_limits(app_configs=None, **kwargs) -> list[Warning]:
    if settings.STORAGE_BACKEND != "s3":
        return []
    return [
        Warning(
            "STORAGE_BACKEND=s3: the transcoder and the video views read media through local "
            "paths, which S3 storage does not have: imports store files there, but transcoding "
            "and playback do not work yet.",
            hint="Mount the bucket (or NFS) as MEDIA_ROOT on every machine and keep "
            "STORAGE_BACKEND=filesystem; see docs/operations.md, 'Media storage'.",
            id="core.W003",
        )
    ]
