"""Reads for the worker app's pages: the page configuration the app boots from."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import get_language

from annotation_server import taxonomy
from annotation_server.annotations.selectors import annotator_counts
from annotation_server.assignments import selectors as assignment_selectors
from annotation_server.assignments.models import PairReport
from annotation_server.workspace.entry import entry_status
from annotation_server.workspace.messages import REPORT_REASONS, app_messages


def _is_chinese(language: str | None) -> bool:
    return bool(language) and language.lower().startswith("zh")


def taxonomy_for_language(language: str | None) -> dict[str, list[dict[str, str]]]:
    """The 12 harms and 4 sub-dimensions with labels and descriptions in `language`.

    taxonomy.py carries both languages, so the app's descriptions have one source.
    """
    zh = _is_chinese(language)
    harms = [
        {
            "key": c.key,
            "code": c.code,
            "label": c.label_zh if zh else c.label_en,
            "description": c.description_zh if zh else c.description_en,
        }
        for c in taxonomy.HARM_CATEGORIES
    ]
    dimensions = [
        {
            "key": d.key,
            "label": d.label_zh if zh else d.label_en,
            "description": d.description_zh if zh else d.description_en,
        }
        for d in taxonomy.SUB_DIMENSIONS
    ]
    return {"harms": harms, "dimensions": dimensions}


def report_reasons() -> list[dict[str, str]]:
    """Skip/report reasons the API accepts, labelled in the active language."""
    return [
        {"key": value, "label": str(REPORT_REASONS.get(value, label))}
        for value, label in PairReport.Reason.choices
    ]


def entry_config(*, user) -> dict | None:
    """For a worker who came through a study link (Prolific/MTurk): their batch and progress.

    None for everyone else, so the app makes no entry requests for normal workers. The app
    claims only from `batch`, asks `status_url` after each delivered answer and, once the
    quota is reached, goes to `finish_url` (which redirects to the study's completion URL).
    """
    status = entry_status(user=user)
    if status is None:
        return None
    return {
        "batch": status.batch,
        "submitted": status.submitted,
        "required": status.required,
        "complete": status.complete,
        "status_url": reverse("api-entry-status"),
        "finish_url": reverse("entry-complete"),
    }


def workspace_config(
    *, user, view: str, csrf_token: str, urls: dict[str, str], languages: list[tuple[str, str]]
) -> dict:
    """Everything the app needs at start, rendered into the page as JSON.

    Contains nothing secret: the worker's own counts and the instructions of batches they
    may work on. Gold answers, video ids and the left/right mapping never appear here.
    """
    language = get_language() or "en"
    counts = annotator_counts(annotator=user)
    batches = assignment_selectors.batch_list_for_annotator(annotator=user)
    # For a study worker this is the study's batch only (see batch_list_for_annotator).
    entry = entry_config(user=user)
    return {
        "view": view,
        "lang": language,
        "languages": [[code, str(name)] for code, name in languages],
        "username": user.get_username(),
        "csrfToken": csrf_token,
        "urls": urls,
        "messages": app_messages(),
        **taxonomy_for_language(language),
        "reasons": report_reasons(),
        "batches": [{"name": b.name, "instructions": b.instructions} for b in batches],
        "counts": {"today": counts["today"], "total": counts["total"]},
        "entry": entry,
    }
