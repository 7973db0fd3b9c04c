"""The machines page of a classification batch (/dashboard/batches/<id>/machines/) and one
version's full disagreement list: reviewers and admins, as the rest of the dashboard."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from annotation_server.batches.models import Batch
from annotation_server.quality.views import reviewer_required

from . import dashboard

PAGE_SIZE = 50


def _classification_batch(pk: int) -> Batch:
    batch = get_object_or_404(Batch.objects.select_related("taxonomy"), pk=pk)
    if batch.kind != Batch.Kind.CLASSIFICATION:
        raise Http404("Machine annotators answer classification batches only.")
    return batch


@require_GET
@reviewer_required
def batch_machines(request, pk: int):
    return render(
        request, "machines/dashboard.html", dashboard.machines_context(_classification_batch(pk))
    )


@require_GET
@reviewer_required
def batch_machine_disagreements(request, pk: int):
    """`?version=<source>|<label>&page=N`: the items where that version and our workers'
    majority disagree, the most confident majority first."""
    batch = _classification_batch(pk)
    view, names = dashboard.version_disagreements(batch, request.GET.get("version", ""))
    if view is None:
        raise Http404("No such machine annotator version on this batch.")
    rows = view.agreement.disagreements if view.agreement else []
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "batch": batch,
        "version": view,
        "page": page,
        "rows": dashboard.disagreement_rows(list(page.object_list), names),
    }
    return render(request, "machines/dashboard_disagreements.html", context)
