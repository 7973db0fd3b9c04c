"""Routing a classification batch: machines first, humans where they disagree, are unsure,
have not answered, or where the audit draw sends the item (machines/routing.py decides).

The models live here and are loaded with the app's models (machines/models.py imports them)."""

from __future__ import annotations

import secrets

from django.db import models
from django.db.models import Q

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
