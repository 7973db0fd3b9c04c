"""Quality's models. An admin's decision on an annotator's work (AnnotatorReview) lives in
assignments, because who may claim reads it; it is re-exported here for quality's readers."""

from __future__ import annotations

from annotation_server.assignments.models import AnnotatorReview

__all__ = ["AnnotatorReview"]
