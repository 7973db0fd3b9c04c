"""Routing a classification batch: machines first, humans where they disagree, are unsure,
have not answered, or where the audit draw sends the item (machines/routing.py decides); and
hints: a machine verdict shown to the worker on a seeded half of the items (machines/hints.py).

The models live here and are loaded with the app's models (machines/models.py imports them)."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Batch, Pair


def routing_seed() -> int:
    """The audit draw's seed: random once, then kept, so routing again draws the same items."""
    return secrets.randbits(62)


class BatchRouting(models.Model):
    """A batch's routing: which machine annotator versions decide, how large an audit share
    goes to humans anyway, what counts as unsure, and what the last routing did."""

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, related_name="routing")
    annotators = models.ManyToManyField(
        "machines.MachineAnnotator",
        related_name="routings",
        help_text="The versions that decide: an item is settled only when all of them agree.",
    )
    audit_share = models.FloatField(
        default=0.10,
        help_text="Share of the items machines would settle that go to humans anyway, to "
        "measure how far the machines can be trusted.",
    )
    seed = models.PositiveBigIntegerField(
        default=routing_seed, help_text="Seeds the audit draw (a hash of seed and item)."
    )
    flagged_unsure = models.BooleanField(
        default=True,
        help_text="A verdict its annotator marked unsure (details.unsure) sends the item to "
        "humans. Unparseable verdicts always do.",
    )
    categories_must_agree = models.BooleanField(
        default=False,
        help_text="When the batch asks categories, versions naming different categories "
        "disagree (otherwise only the harmful verdict must agree).",
    )
    routed_at = models.DateTimeField(null=True, blank=True)
    routed_by = models.CharField(max_length=150, blank=True, default="")
    last_counts = models.JSONField(
        default=dict, blank=True, help_text="What the last routing did (items, reasons, saved)."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "batch routing"
        constraints = [
            models.CheckConstraint(
                condition=Q(audit_share__gte=0) & Q(audit_share__lte=1),
                name="routing_audit_share_is_a_share",
            ),
        ]

    def __str__(self) -> str:
        return f"routing of {self.batch}"


class RoutingDecision(models.Model):
    """Where one item of a routed batch goes, and why. Gold items have none: they are never
    routed out."""

    class Reason(models.TextChoices):
        AGREE = "agree", "Machines agree"
        DISAGREE = "disagree", "Machines disagree"
        UNSURE = "unsure", "A machine is unsure or its verdict unparseable"
        MISSING = "missing", "A machine has no verdict yet"
        AUDIT = "audit", "Machines agree; drawn for the audit"

    routing = models.ForeignKey(BatchRouting, on_delete=models.CASCADE, related_name="decisions")
    pair = models.OneToOneField(Pair, on_delete=models.CASCADE, related_name="routing_decision")
    to_humans = models.BooleanField()
    reason = models.CharField(max_length=16, choices=Reason.choices)
    # Machines agreed but humans had already claimed or answered the item, so it stays theirs.
    started = models.BooleanField(default=False)
    # The machines' common verdict (agree, audit): {"harmful", "categories"} as far as compared.
    verdict = models.JSONField(null=True, blank=True)
    credited = models.PositiveSmallIntegerField(default=0)
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(to_humans=True) | (Q(reason="agree") & Q(started=False)),
                name="routing_settled_only_when_agreeing",
            ),
        ]
        indexes = [models.Index(fields=["routing", "reason"], name="routing_decision_reason_idx")]

    def __str__(self) -> str:
        return f"{self.pair_id}: {'humans' if self.to_humans else 'settled'} ({self.reason})"


class BatchHints(models.Model):
    """Whether the workers of a classification batch are shown a machine verdict as a hint,
    and whose. Off unless switched on: a hint anchors answers, so it is a choice, measured on
    the machines page (the anchoring card)."""

    batch = models.OneToOneField(Batch, on_delete=models.CASCADE, related_name="hints")
    enabled = models.BooleanField(
        default=False,
        help_text="Show the verdict on a seeded half of the items (never on gold items).",
    )
    annotator = models.ForeignKey(
        "machines.MachineAnnotator",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="hinted_batches",
        help_text="The machine annotator version whose verdict is shown.",
    )
    seed = models.PositiveBigIntegerField(
        default=routing_seed,
        help_text="Seeds the draw of the hinted half (a hash of seed and item).",
    )
    changed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "batch hints"
        verbose_name_plural = "batch hints"
        constraints = [
            models.CheckConstraint(
                condition=Q(enabled=False) | Q(annotator__isnull=False),
                name="hints_enabled_name_a_version",
            ),
        ]

    def __str__(self) -> str:
        return f"hints of {self.batch}: {self.annotator if self.enabled else 'off'}"


class HintShown(models.Model):
    """An assignment whose worker was shown a hint, and the hint as shown: the anchoring card
    compares what workers saw, not what the draw would have shown (a hinted item whose
    verdict came later, or answered before hints were on, was seen without one)."""

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="hint_shown"
    )
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="+")
    annotator = models.ForeignKey(
        "machines.MachineAnnotator", on_delete=models.PROTECT, related_name="+"
    )
    hint = models.JSONField(help_text="{harmful, categories, by} as the worker was shown it.")
    shown_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "hint shown"
        verbose_name_plural = "hints shown"

    def __str__(self) -> str:
        return f"hint of {self.annotator_id} on assignment {self.assignment_id}"
