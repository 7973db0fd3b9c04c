"""The audit page (/dashboard/audit/): every recorded action, and every export job.

It sits in the top layer because it reads both the dashboard's audit events (`quality`) and
the export jobs (`exports`), two apps that never import each other.
"""

from __future__ import annotations

from django.shortcuts import render
from django.views.decorators.http import require_GET

from annotation_server.batches.models import Batch
from annotation_server.exports.selectors import export_list
from annotation_server.quality import selectors
from annotation_server.quality.views import reviewer_required


@require_GET
@reviewer_required
def audit_log(request):
    batch_id = request.GET.get("batch", "")
    batch = Batch.objects.filter(pk=int(batch_id)).first() if batch_id.isdigit() else None
    return render(
        request,
        "workspace/audit.html",
        {
            "events": selectors.audit_event_list(batch=batch, limit=500),
            "batch": batch,
            "exports": export_list(limit=100),
        },
    )
