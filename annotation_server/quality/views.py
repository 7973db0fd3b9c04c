"""Dashboard pages (/dashboard/): reviewers and admins read, only admins act."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from annotation_server.accounts import roles
from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches import lifecycle
from annotation_server.batches.models import Batch
from annotation_server.core.exceptions import ApplicationError
from annotation_server.quality import (
    classification_dashboard,
    dashboard,
    figures,
    rounds,
    selectors,
    services,
)


def reviewer_required(view):
    """Logged-in reviewers and admins only; everyone else gets 403 (or the login page)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not roles.is_reviewer(request.user):
            raise PermissionDenied("The dashboard is for reviewers and admins.")
        return view(request, *args, **kwargs)

    return wrapper


def _admin_only(request) -> None:
    if not roles.is_admin(request.user):
        raise PermissionDenied("Only admins can change batches or annotators' work.")


@require_GET
@reviewer_required
def dashboard_home(request):
    context = dashboard.overview_context()
    context["is_admin"] = roles.is_admin(request.user)
    return render(request, "quality/home.html", context)


@require_GET
@reviewer_required
def dashboard_batch(request, pk: int):
    batch = get_object_or_404(Batch, pk=pk)
    context = _batch_context(batch)
    context["is_admin"] = roles.is_admin(request.user)
    context["actions"] = [a for a in lifecycle.LIFECYCLE_ACTIONS if _action_possible(batch, a)]
    if context["is_admin"]:
        sources = ExternalAnnotation.objects.filter(batch=batch).values_list("source", flat=True)
        context["round_sources"] = sorted(set(sources.distinct()))
    classification = batch.kind == Batch.Kind.CLASSIFICATION
    template = "quality/classification.html" if classification else "quality/batch.html"
    return render(request, template, context)


def _batch_context(batch: Batch) -> dict:
    if batch.kind == Batch.Kind.CLASSIFICATION:
        return classification_dashboard.batch_context(batch)
    return dashboard.batch_context(batch)


def _action_possible(batch: Batch, action: str) -> bool:
    moves = Batch.TRANSITIONS[batch.status]
    target = {
        "publish": "published",
        "pause": "paused",
        "resume": "published",
        "complete": "completed",
        "archive": "archived",
    }[action]
    if action == "resume":
        return batch.status == Batch.Status.PAUSED
    if action == "publish":
        return batch.status in ("draft", "processing", "ready", "completed")
    return target in moves


@require_POST
@reviewer_required
def batch_lifecycle(request, pk: int):
    _admin_only(request)
    batch = get_object_or_404(Batch, pk=pk)
    action = lifecycle.LIFECYCLE_ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, "Unknown action; use publish, pause, resume, complete or archive.")
    else:
        try:
            action(batch=batch, actor=request.user)
            messages.success(request, f"Batch {batch.name} is now {batch.status}.")
        except ApplicationError as error:
            messages.error(request, error.message)
    return redirect("dashboard-batch", pk=batch.pk)


@require_POST
@reviewer_required
def batch_new_round_view(request, pk: int):
    """Make a second round of the batch's items (quality/rounds.py) and show it."""
    _admin_only(request)
    batch = get_object_or_404(Batch, pk=pk)
    form = request.POST
    try:
        by_agreement = form.get("rule", "agreement") == "agreement"
        new = rounds.batch_new_round(
            batch=batch,
            name=form.get("name", "").strip(),
            owner=request.user,
            agreement_below=float(form.get("agreement_below") or 0) if by_agreement else None,
            disagrees_with=None if by_agreement else form.get("source", "").strip(),
            overlap=int(form["overlap"]) if form.get("overlap") else None,
        )
    except ValueError:
        messages.error(request, "The threshold and the annotators per item must be numbers.")
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Batch {new.name} made with {new.pairs.count()} item(s).")
        return redirect("dashboard-batch", pk=new.pk)
    return redirect("dashboard-batch", pk=batch.pk)


@require_POST
@reviewer_required
def batch_figures_refresh(request, pk: int):
    """Recompute the batch's figures now (on the worker), whatever their version says."""
    batch = get_object_or_404(Batch, pk=pk)
    figures.batch_figures_request_refresh(batch=batch, force=True)
    messages.info(request, "The figures are being recomputed; this page shows them once done.")
    return redirect("dashboard-batch", pk=batch.pk)


@require_http_methods(["GET", "POST"])
@reviewer_required
def annotator_review(request, pk: int, user_id: int):
    batch = get_object_or_404(Batch, pk=pk)
    annotator = get_object_or_404(get_user_model(), pk=user_id)
    if request.method == "POST":
        _admin_only(request)
        decision = request.POST.get("decision")
        note = request.POST.get("note", "")
        try:
            if decision == "reject":
                if request.POST.get("confirm") != "yes":
                    raise ApplicationError("Tick the confirmation box to reject this work.")
                review = services.annotator_work_reject(
                    batch=batch, annotator=annotator, actor=request.user, note=note
                )
                messages.success(
                    request,
                    f"Rejected {review.annotations_affected} "
                    f"annotation(s) of {annotator.username}; their pairs "
                    "are back in the queue.",
                )
            elif decision == "approve":
                services.annotator_work_approve(
                    batch=batch, annotator=annotator, actor=request.user, note=note
                )
                messages.success(request, f"Approved {annotator.username}'s work.")
            else:
                raise ApplicationError("Choose approve or reject.")
            return redirect("dashboard-batch", pk=batch.pk)
        except ApplicationError as error:
            messages.error(request, error.message)
    line = next(
        (a for a in _batch_context(batch)["annotators"] if a.stats.annotator_id == annotator.pk),
        None,
    )
    return render(
        request,
        "quality/review.html",
        {
            "batch": batch,
            "annotator": annotator,
            "line": line,
            "review": selectors.review_map(batch=batch).get(annotator.pk),
            "is_admin": roles.is_admin(request.user),
        },
    )


@require_GET
@reviewer_required
def annotation_list(request, pk: int):
    batch = get_object_or_404(Batch, pk=pk)
    qs = (
        Annotation.objects.filter(batch=batch)
        .select_related("annotator", "pair")
        .order_by("-created_at", "-id")
    )
    annotator = request.GET.get("annotator", "")
    if annotator.isdigit():
        qs = qs.filter(annotator_id=int(annotator))
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request, "quality/annotations.html", {"batch": batch, "page": page, "annotator": annotator}
    )


@require_GET
@reviewer_required
def annotation_detail(request, annotation_id: int):
    annotation = selectors.annotation_for_review(annotation_id=annotation_id)
    if annotation is None:
        raise Http404("No such annotation.")
    pair = annotation.pair
    if annotation.batch.kind == Batch.Kind.CLASSIFICATION:
        # One item, no sides: the verdict is the answer, its categories the "harms".
        sides = [_side("item", pair.video_0, annotation.categories or [], "alone")]
        answers = [
            ("Harmful", annotation.harmful),
            ("Categories", ", ".join(annotation.categories or []) or "none"),
            ("Reason", annotation.reason or "—"),
            ("Confidence", annotation.confidence),
        ]
    else:
        sides = [
            _side(
                name,
                video,
                harms,
                "left" if (name == "video_0") == annotation.left_is_video_0 else "right",
            )
            for name, video, harms in (
                ("video_0", pair.video_0, annotation.video_0_harms),
                ("video_1", pair.video_1, annotation.video_1_harms),
            )
        ]
        answers = [
            (label, getattr(annotation, field)) for field, label in dashboard.stats.CHOICE_FIELDS
        ]
    return render(
        request,
        "quality/annotation.html",
        {"a": annotation, "pair": pair, "sides": sides, "answers": answers},
    )


def _side(name: str, video, harms, shown: str) -> dict:
    return {
        "name": name,
        "video": video,
        "harms": harms,
        "shown": shown,
        "image": video.media_type == "image",
        "src": reverse("video-rendition", kwargs={"uid": video.uid}),
        "poster": reverse("video-poster", kwargs={"uid": video.uid}),
    }
