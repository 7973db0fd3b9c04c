"""Serving renditions and posters (image thumbnails) to users allowed to see them, with HTTP
Range support. The content type follows the stored file: an H.264 MP4 for a video, a WebP or
JPEG for an image, a JPEG for every poster.

MEDIA_SERVE_BACKEND="django" streams the bytes from Django (embedded default);
"nginx" answers with an empty response and X-Accel-Redirect, and nginx sends the file (and
handles Range itself) from an `internal` location at MEDIA_ACCEL_PREFIX. With object storage
(STORAGE_BACKEND=s3) there is no local file: the answer is a 302 to a signed object URL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from annotation_server.catalog import selectors
from annotation_server.catalog.models import Video
from annotation_server.catalog.ranges import ByteRange, RangeNotSatisfiable, parse_range

# The URL holds the video's uid and a rendition is only ever re-made from the same source with
# the same settings, so browsers may keep it; ETag + If-Range guard against mixing bytes of
# two different encodes when a range request resumes.
CACHE_CONTROL = "private, max-age=31536000, immutable"
_CHUNK = 64 * 1024
# Only what the pipelines write; with `nosniff` a browser must be told the truth.
_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".webp": "image/webp",
    ".jpg": "image/jpeg",
    ".png": "image/png",
}
_FIELD_CONTENT_TYPES = {"rendition": "video/mp4", "poster": "image/jpeg"}


@require_safe
def video_rendition(request, uid):
    return _serve(request, uid, field="rendition")


@require_safe
def video_poster(request, uid):
    return _serve(request, uid, field="poster")


def _serve(request, uid, *, field: str):
    video = selectors.video_get_by_uid(uid)
    # 404 for "not yours" as well as "not there": no one learns which uids exist.
    if video is None or not selectors.video_visible_to(request.user, video):
        raise Http404("No such video.")
    name = getattr(video, field).name
    if video.status != Video.Status.READY or not name:
        raise Http404("This video is not ready yet.")
    suffix = PurePosixPath(name).suffix.lower()
    content_type = _CONTENT_TYPES.get(suffix) or _FIELD_CONTENT_TYPES[field]
    try:
        path = Path(default_storage.path(name))
    except NotImplementedError:
        return _redirect_to_storage(name)
    except SuspiciousFileOperation as exc:
        raise Http404("The video file is missing.") from exc
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise Http404("The video file is missing.") from exc
    if settings.MEDIA_SERVE_BACKEND == "nginx":
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_PREFIX.rstrip("/") + "/" + quote(name)
    else:
        response = _stream(request, path, stat.st_size, _etag(stat), content_type)
    response["Cache-Control"] = CACHE_CONTROL
    response["ETag"] = _etag(stat)
    response["Last-Modified"] = http_date(stat.st_mtime)
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _redirect_to_storage(name: str) -> HttpResponseRedirect:
    """Object storage (S3): send the browser to a short-lived signed URL of the object.

    Access was checked just before; the URL expires after AWS_QUERYSTRING_EXPIRE, and the
    browser then makes its Range requests to the storage directly, holding no web thread.
    """
    expire = getattr(default_storage, "querystring_expire", 3600)
    url = default_storage.url(name, parameters={"ResponseCacheControl": CACHE_CONTROL})
    response = HttpResponseRedirect(url)
    # Every signing makes a new URL; letting the browser reuse this redirect for half the
    # URL's life keeps its cached bytes usable, and it never follows an expired URL.
    response["Cache-Control"] = f"private, max-age={int(expire) // 2}"
    return response


def _etag(stat: os.stat_result) -> str:
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def _stream(request, path: Path, size: int, etag: str, content_type: str):
    header = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if if_range and if_range.strip() != etag:
        header = None  # the client holds bytes of another version: send it all again
    try:
        byte_range = parse_range(header, size)
    except RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    if byte_range is None:
        return FileResponse(path.open("rb"), content_type=content_type)
    response = StreamingHttpResponse(
        _read_range(path, byte_range), status=206, content_type=content_type
    )
    response["Content-Length"] = str(byte_range.length)
    response["Content-Range"] = byte_range.content_range(size)
    return response


def _read_range(path: Path, byte_range: ByteRange) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(byte_range.start)
        remaining = byte_range.length
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
