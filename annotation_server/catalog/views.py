"""Serving renditions and posters to users allowed to see them (the video-pipeline issue)."""

from django.http import Http404


def video_rendition(request, uid):
    raise Http404("video serving is being built (issue 3)")


def video_poster(request, uid):
    raise Http404("video serving is being built (issue 3)")
