"""Settings for the annotation platform: one module, every knob from the environment.

Defaults are the embedded ones (SQLite under var/, media under var/media/, Celery tasks run
eagerly when CELERY_BROKER_URL is unset). `.env.example` lists every variable.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A .env file beside manage.py is read when present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="insecure-embedded-default-change-me-in-production-0123456789"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "csp",
    "axes",
    "annotation_server.core",
    "annotation_server.accounts",
    "annotation_server.catalog",
    "annotation_server.batches",
    "annotation_server.assignments",
    "annotation_server.annotations",
    "annotation_server.quality",
    "annotation_server.exports",
    "annotation_server.machines",
    "annotation_server.workspace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "annotation_server.core.middleware.RequestInputMiddleware",  # 400 for NUL, over-long input
    "annotation_server.core.middleware.CSPMiddleware",  # django-csp, policy built once
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "annotation_server.core.middleware.LocaleMiddleware",  # Django's, no prefix lookups
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a locked-out log-in into a 429 (accounts.lockout)
]

ROOT_URLCONF = "annotation_server.urls"
WSGI_APPLICATION = "annotation_server.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "annotation_server" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # One writer at a time: wait for the lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Transactions take the write lock when they start: a deferred transaction that read
    # first and writes later fails at once with "database is locked" when another thread
    # writes meanwhile (concurrent claim + submit in the threaded dev server).
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Server-side parameter binding lets PostgreSQL keep the plan of a statement that a
    # connection runs over and over (psycopg prepares it after `prepare_threshold` runs):
    # planning the claim, submit and token queries cost more than executing them
    # (docs/benchmarks.md). Needs persistent connections (DATABASE_CONN_MAX_AGE > 0) to pay
    # off. Behind a pooler in transaction mode without prepared-statement support (PgBouncer
    # < 1.21), set DATABASE_PREPARE_THRESHOLD= (empty) to turn preparing off.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["server_side_binding"] = env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
    _threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5").strip()
    if _threshold and not _threshold.isdigit():
        raise environ.ImproperlyConfigured(
            f"DATABASE_PREPARE_THRESHOLD={_threshold!r}: give a whole number of runs (5 is the "
            "default), or leave it empty to never prepare statements."
        )
    _options["prepare_threshold"] = int(_threshold) if _threshold else None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
# The first backend refuses a log-in while its account or client address is locked out.
AUTHENTICATION_BACKENDS = [
    "annotation_server.accounts.lockout.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "annotation_server" / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
FRONTEND_DIST = BASE_DIR / "frontend" / "dist"
STATICFILES_DIRS = [FRONTEND_DIST] if FRONTEND_DIST.exists() else []
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
# Where large uploads (admin import zips) are unpacked before validation.
IMPORT_STAGING_ROOT = Path(env.str("IMPORT_STAGING_ROOT", default=str(VAR_DIR / "staging")))
# An uploaded zip of videos may unpack to at most this many bytes (guards against zip bombs).
IMPORT_MAX_UNZIPPED_BYTES = env.int("IMPORT_MAX_UNZIPPED_BYTES", default=20 * 1024**3)
# Where admin-started exports (exports app) write their packed .tar.gz results; never served
# directly: downloads go through an admin-only view.
EXPORT_ROOT = Path(env.str("EXPORT_ROOT", default=str(VAR_DIR / "exports")))
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Media storage: "filesystem" (MEDIA_ROOT, shared by web and workers) or "s3" -------------
# S3-compatible object storage needs `pip install -e ".[s3]"` (django-storages); see
# docs/operations.md for what it changes.
STORAGE_BACKEND = env.str("STORAGE_BACKEND", default="filesystem")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if STORAGE_BACKEND == "s3":
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("AWS_LOCATION", default=""),
            # Videos are private: every URL is signed and short-lived, nothing is public-read.
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=3600),
            # SigV4 signed URLs (botocore would sign older-style v2 ones in some regions).
            "signature_version": env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4"),
            "file_overwrite": False,
            # Reading an object (transcoder, export) buffers it in memory up to this size and
            # in FILE_UPLOAD_TEMP_DIR beyond; django-storages' default 0 means all in memory.
            "max_memory_size": env.int("AWS_S3_MAX_MEMORY_SIZE", default=16 * 1024 * 1024),
        },
    }
elif STORAGE_BACKEND != "filesystem":
    raise environ.ImproperlyConfigured(
        f"STORAGE_BACKEND={STORAGE_BACKEND!r}: use 'filesystem' or 's3'."
    )

# --- Media serving -------------------------------------------------------------------------
# "django": Django streams files itself (embedded default, answers Range requests).
# "nginx": Django checks access and answers with X-Accel-Redirect to MEDIA_ACCEL_PREFIX.
MEDIA_SERVE_BACKEND = env.str("MEDIA_SERVE_BACKEND", default="django")
MEDIA_ACCEL_PREFIX = env.str("MEDIA_ACCEL_PREFIX", default="/protected-media/")

# --- Video pipeline limits -------------------------------------------------------------------
VIDEO_MAX_INPUT_BYTES = env.int("VIDEO_MAX_INPUT_BYTES", default=512 * 1024 * 1024)
VIDEO_MAX_DURATION_S = env.float("VIDEO_MAX_DURATION_S", default=60.0)
VIDEO_MAX_WIDTH = env.int("VIDEO_MAX_WIDTH", default=4096)
VIDEO_MAX_HEIGHT = env.int("VIDEO_MAX_HEIGHT", default=4096)
VIDEO_RENDITION_MAX_SIZE = env.int("VIDEO_RENDITION_MAX_SIZE", default=1280)
VIDEO_RENDITION_CRF = env.int("VIDEO_RENDITION_CRF", default=23)
VIDEO_RENDITION_PRESET = env.str("VIDEO_RENDITION_PRESET", default="veryfast")
VIDEO_TRANSCODE_SOFT_TIME_LIMIT = env.int("VIDEO_TRANSCODE_SOFT_TIME_LIMIT", default=600)
VIDEO_TRANSCODE_TIME_LIMIT = env.int("VIDEO_TRANSCODE_TIME_LIMIT", default=660)
VIDEO_PROCESSING_STALE_AFTER_S = env.int("VIDEO_PROCESSING_STALE_AFTER_S", default=900)
# A video whose transcode was interrupted this many times (worker killed, e.g. out of memory)
# fails instead of taking workers down for ever; "retry transcoding" in the admin resets it.
VIDEO_TRANSCODE_MAX_ATTEMPTS = env.int("VIDEO_TRANSCODE_MAX_ATTEMPTS", default=5)

# --- Image pipeline (catalog/images.py); images share the transcoding queue and its limits ---
IMAGE_MAX_INPUT_BYTES = env.int("IMAGE_MAX_INPUT_BYTES", default=64 * 1024 * 1024)
# Read from the header and refused before decoding: a decompression bomb never unpacks.
IMAGE_MAX_PIXELS = env.int("IMAGE_MAX_PIXELS", default=64_000_000)
IMAGE_RENDITION_MAX_SIZE = env.int("IMAGE_RENDITION_MAX_SIZE", default=1600)
# "webp" keeps transparency and is about a third smaller; "jpeg" encodes several times faster.
IMAGE_RENDITION_FORMAT = env.str("IMAGE_RENDITION_FORMAT", default="webp").strip().lower()
if IMAGE_RENDITION_FORMAT not in ("webp", "jpeg"):
    raise environ.ImproperlyConfigured(
        f"IMAGE_RENDITION_FORMAT={IMAGE_RENDITION_FORMAT!r}: give webp (the default) or jpeg."
    )
IMAGE_RENDITION_QUALITY = env.int("IMAGE_RENDITION_QUALITY", default=82)
IMAGE_THUMBNAIL_SIZE = env.int("IMAGE_THUMBNAIL_SIZE", default=320)

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
# Without a broker the embedded default runs every task inline, in the web process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://"
CELERY_TASK_DEFAULT_QUEUE = "default"
# Machine runs go to the `machines` queue (annotation_server.celery.route_machine_runs).
CELERY_TASK_ROUTES = (
    "annotation_server.celery.route_machine_runs",
    {"annotation_server.catalog.tasks.*": {"queue": "transcoding"}},
)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Unacked tasks of a killed worker come back after this many seconds. kombu looks for them
# every 10 s × 10 (its interval × throttle); a timeout shorter than that is looked at each second.
_VISIBILITY_S = env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _VISIBILITY_S} | (
    {"unacked_restore_interval": 1, "unacked_restore_throttle": 1} if _VISIBILITY_S < 100 else {}
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With JSON logs Celery keeps Django's LOGGING (one JSON object per line), not its own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = not env.bool("LOG_JSON", default=False)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "assignments-expire": {
        "task": "annotation_server.assignments.tasks.assignment_expire_stale_task",
        "schedule": 60.0,
    },
    "videos-reset-stale-processing": {
        "task": "annotation_server.catalog.tasks.video_reset_stale_task",
        "schedule": 120.0,
    },
    # Background jobs of every kind (uploads, exports, ...) whose worker died or whose message
    # was lost: queued again (core/jobs/recovery.py).
    "jobs-recover-stalled": {
        "task": "annotation_server.core.tasks.job_recover_task",
        "schedule": 300.0,
    },
}

# --- Quality flags and dashboard (quality app) ------------------------------------------------
# An annotator is flagged when below a threshold, once enough evidence exists.
QUALITY_FLAG_MIN_GOLD_ACCURACY = env.float("QUALITY_FLAG_MIN_GOLD_ACCURACY", default=0.7)
QUALITY_FLAG_MIN_GOLD_ANSWERS = env.int("QUALITY_FLAG_MIN_GOLD_ANSWERS", default=3)
QUALITY_FLAG_MIN_AGREEMENT = env.float("QUALITY_FLAG_MIN_AGREEMENT", default=0.6)
QUALITY_FLAG_MIN_COMPARISONS = env.int("QUALITY_FLAG_MIN_COMPARISONS", default=10)
# Position bias: share of choices for one side (left or right) above this is flagged.
QUALITY_FLAG_MAX_SIDE_SHARE = env.float("QUALITY_FLAG_MAX_SIDE_SHARE", default=0.8)
QUALITY_FLAG_MIN_SIDE_ANSWERS = env.int("QUALITY_FLAG_MIN_SIDE_ANSWERS", default=20)
# Bootstrap resamples behind the Bradley–Terry confidence intervals on the dashboard.
QUALITY_BT_BOOTSTRAP_SAMPLES = env.int("QUALITY_BT_BOOTSTRAP_SAMPLES", default=200)

# --- REST framework ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "annotation_server.accounts.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "annotation_server.core.exceptions.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["annotation_server.core.parsing.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "annotation_server.core.negotiation.ContentNegotiation",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Video preference annotation API",
    "DESCRIPTION": "Claim pairs, submit SafeSora two-stage annotations, skip and report.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # One enum name per shared choice set (worker answers name a side and harm keys).
    "ENUM_NAME_OVERRIDES": {
        "SideEnum": "annotation_server.annotations.apis.SIDE_CHOICES",
        "HarmKeyEnum": "annotation_server.taxonomy.HARM_KEYS",
    },
}

# --- Input limits: larger or deeper input is refused with a 400 naming the limit ---------------
API_JSON_MAX_BYTES = env.int("API_JSON_MAX_BYTES", default=256 * 1024)
API_JSON_MAX_DEPTH = env.int("API_JSON_MAX_DEPTH", default=32)
REQUEST_MAX_PATH_LENGTH = env.int("REQUEST_MAX_PATH_LENGTH", default=2048)
REQUEST_MAX_QUERY_LENGTH = env.int("REQUEST_MAX_QUERY_LENGTH", default=8192)
REQUEST_MAX_HEADER_LENGTH = env.int("REQUEST_MAX_HEADER_LENGTH", default=8192)

# --- Log-in lockout (django-axes) -----------------------------------------------------------------
# Failed log-ins (token API, log-in form, admin, bad study links) are counted per account and
# per client address; at AXES_FAILURE_LIMIT within the cool-off the account or address is
# refused (429 with Retry-After) until AXES_COOLOFF_MINUTES pass without another failure.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# A success does not clear the count: it would clear the address's count too, so an attacker
# holding one account could reset the per-address limit by logging in between guesses.
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_CALLABLE = "annotation_server.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429
# Where the client address comes from. Directly exposed: the socket's (REMOTE_ADDR). Behind the
# bundled nginx, which overwrites X-Real-IP with the address it was connected from:
# HTTP_X_REAL_IP first. A header is only trustworthy when every request passes the proxy that
# sets it; otherwise a client picks its own address and escapes the per-address limit.
AXES_IPWARE_META_PRECEDENCE_ORDER = env.list(
    "AXES_IPWARE_META_PRECEDENCE_ORDER",
    default=(
        ["HTTP_X_REAL_IP", "REMOTE_ADDR"]
        if env.bool("DJANGO_BEHIND_PROXY", default=False)
        else ["REMOTE_ADDR"]
    ),
)
# With HTTP_X_FORWARDED_FOR in the order above: how many proxies stand in front (django-ipware).
AXES_IPWARE_PROXY_COUNT = env.int("AXES_IPWARE_PROXY_COUNT", default=None)

# --- Security (production values come from the environment) ------------------------------------
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=False)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
if env.bool("DJANGO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Load balancers and container health checks speak plain HTTP to the app itself.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Content security policy (django-csp). The worker app is a Vite build: scripts and styles
# come from /static/ files only, so no inline <script> may run. A page that needs to hand the
# app data puts it in <script type="application/json" id="..."> (data, never executed, so CSP
# allows it) and the bundle reads it with JSON.parse. Inline style *attributes* stay allowed
# because the Django admin uses them. /api/docs/ (Swagger UI from a CDN) is exempt.
_CSP_EXTRA_MEDIA = env.list("CSP_EXTRA_MEDIA_SRC", default=[])
_CSP = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *_CSP_EXTRA_MEDIA],
        "media-src": ["'self'", "blob:", *_CSP_EXTRA_MEDIA],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if env.bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY = None
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _CSP
else:
    CONTENT_SECURITY_POLICY = _CSP

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if env.bool("LOG_JSON", default=False) else "plain",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
