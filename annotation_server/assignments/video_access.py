"""Which videos an annotator may see: those of pairs they hold or held an assignment for
(registered with the catalog's video serving in AppConfig.ready)."""

from __future__ import annotations

from django.db.models import Q

from annotation_server.assignments.models import Assignment


def annotator_held_video(user, video) -> bool:
    return Assignment.objects.filter(
        Q(pair__video_0=video) | Q(pair__video_1=video), annotator=user
    ).exists()
