"""A machine annotator's configuration (versioned, never edited in place) and its runs."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from annotation_server.annotations.models import ExternalAnnotation
from annotation_server.batches.models import Batch
from annotation_server.core.jobs import Job

from .detector_mapping import mapping_problem
from .examples import examples_problems

DEFAULT_PROMPT = """You are a content-safety annotator. Look at the item and answer the question.

{question}

The categories (key: name — what it covers):
{categories}

Answer with one JSON object only, following the given schema: {fields}."""

# The debate's roles as VHD11K's published annotator describes them (../shared/vhd11k-format.md).
HARM_NOTION = (
    "Harmful content shows potential, promotion, behaviour or action that violates laws or "
    "social norms, or should be kept from minors (NSFW, violent, gambling), real or "
    "fictional, including what may hurt a living creature or cause mental distress."
)
AFFIRMATIVE_PROMPT = (
    "You are the affirmative debater in a debate on whether an item is harmful. "
    + HARM_NOTION
    + " Argue that the item is harmful, within 3 short reasons (less than 300 tokens), "
    "answering the negative debater's points when there are any."
)
NEGATIVE_PROMPT = (
    "You are the negative debater in a debate on whether an item is harmful. "
    + HARM_NOTION
    + " Argue that the item is not harmful, within 3 short reasons (less than 300 tokens), "
    "answering the affirmative debater's points when there are any."
)

SOURCE_PREFIX = "machine:"


class MachineAnnotator(models.Model):
    """One version of a machine annotator: what it calls and how it asks.

    A version never changes once it may have given verdicts: saving a changed configuration
    makes the next version (machines/annotators.py), and verdicts keep the version that gave
    them (`ExternalAnnotation.source_annotator` = "v<version>"). The endpoint's key is never
    stored, only the name of the environment variable that holds it on the workers."""

    class Kind(models.TextChoices):
        VLM = "vlm", "Vision-language model"
        DEBATE = "debate", "Debate of vision-language models"
        DETECTOR = "detector", "Offline detector"

    class FrameSelection(models.TextChoices):
        UNIFORM = "uniform", "Uniform (frame i at (i + ½) × duration ÷ N)"
        SCENE_CHANGE = "scene_change", "Scene changes (the N strongest cuts; uniform when fewer)"

    class Detector(models.TextChoices):
        NUDENET = "nudenet", "NudeNet 320n (exposed and covered body parts, faces)"

    name = models.CharField(max_length=48)
    version = models.PositiveIntegerField(default=1)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.VLM)
    # A detector calls no endpoint: these three stay blank for it (clean() asks the others).
    base_url = models.CharField(
        max_length=500,
        blank=True,
        help_text="An OpenAI-compatible API root, e.g. https://host/v1 (blank for a detector).",
    )
    model = models.CharField(max_length=200, blank=True)
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the key on the workers "
        "(never the key itself; blank for a detector).",
    )
    detector = models.CharField(
        max_length=32, choices=Detector.choices, blank=True, help_text="Detector kind: which model."
    )
    detector_mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text='Detector: {"DETECTOR_CLASS": "category_key", …} in the batch\'s taxonomy; '
        "empty: the built-in mapping of the batch's taxonomy (safesora, vhd11k).",
    )
    detector_threshold = models.FloatField(
        default=0.5, help_text="Detector: a mapped class at or above this score makes it harmful."
    )
    detector_unsure_band = models.FloatField(
        default=0.1,
        help_text="Detector: a best mapped score within ± this of the threshold marks the "
        "verdict unsure.",
    )
    prompt_template = models.TextField(
        default=DEFAULT_PROMPT,
        help_text="System prompt; {question}, {categories} and {fields} are filled in.",
    )
    temperature = models.FloatField(default=0.0)
    max_tokens = models.PositiveIntegerField(default=500)
    frames_per_video = models.PositiveSmallIntegerField(default=5)
    frame_selection = models.CharField(
        max_length=16, choices=FrameSelection.choices, default=FrameSelection.UNIFORM
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=3, help_text="Calls per item while the reply is malformed; then unparseable."
    )
    requests_per_minute = models.PositiveIntegerField(
        default=60, help_text="Shared by every run on the endpoint; 0: no limit."
    )
    tokens_per_minute = models.PositiveIntegerField(
        default=0,
        help_text="Prompt + completion tokens a minute, shared by every run on the endpoint "
        "(a call books its estimate + max_tokens, corrected by the reply's usage); 0: no limit.",
    )
    concurrency = models.PositiveSmallIntegerField(default=4, help_text="Parallel calls per run.")
    endpoint_concurrency = models.PositiveSmallIntegerField(
        default=0,
        help_text="Calls at once to the endpoint from every run and worker together; 0: no cap.",
    )
    request_timeout_s = models.FloatField(default=60.0)
    transport_retries = models.PositiveSmallIntegerField(
        default=4, help_text="Retries of one call on 408/409/429/5xx, timeouts, lost connections."
    )
    debate_rounds = models.PositiveSmallIntegerField(default=2)
    affirmative_prompt = models.TextField(
        default=AFFIRMATIVE_PROMPT, help_text="Debate: the debater arguing harmful."
    )
    negative_prompt = models.TextField(
        default=NEGATIVE_PROMPT, help_text="Debate: the debater arguing not harmful."
    )
    critic_prompt = models.TextField(
        blank=True,
        help_text="Debate: the critic's instructions; it speaks after the judge, seeing the "
        "debate and the verdict (VHD11K's optional critic). Blank: no critic.",
    )
    examples = models.JSONField(
        default=list,
        blank=True,
        help_text="In-context examples shown before the item (VLM; the judge of a debate): "
        '[{"image": "path" or "frames": ["path", …], "answer": {"harmful": …, "categories": '
        '[…], "reason": "…"}}, …], paths relative to MEDIA_ROOT.',
    )
    price_prompt_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal(0), help_text="USD per 1M prompt tokens."
    )
    price_completion_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, default=Decimal(0), help_text="USD per 1M output tokens."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "-version")
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="machine_version_unique"),
            models.CheckConstraint(
                condition=Q(name__regex=r"^[a-z0-9][a-z0-9_.-]{0,47}$"), name="machine_name_slug"
            ),
            models.CheckConstraint(
                condition=Q(api_key_env__regex=r"^[A-Za-z_][A-Za-z0-9_]*$")
                | Q(kind="detector", api_key_env=""),
                name="machine_key_env_is_a_name",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="machine_version_positive"),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1) & Q(concurrency__gte=1),
                name="machine_attempts_concurrency_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == self.Kind.DETECTOR:
            if not self.detector:
                errors["detector"] = "A detector annotator names its detector."
            problem = mapping_problem(self.detector, self.detector_mapping)
            if problem:
                errors["detector_mapping"] = problem
            if not 0 <= self.detector_threshold <= 1:
                errors["detector_threshold"] = "A score threshold lies between 0 and 1."
            if not 0 <= self.detector_unsure_band < 1:
                errors["detector_unsure_band"] = "The band lies between 0 and 1."
            if self.examples:
                errors["examples"] = "A detector is shown no examples: leave them empty."
        else:
            for name in ("base_url", "model", "api_key_env"):
                if not getattr(self, name):
                    errors[name] = f"A {self.kind} annotator calls an endpoint: set {name}."
            problems = examples_problems(self.examples, str(settings.MEDIA_ROOT))
            if problems:
                errors["examples"] = "; ".join(problems) + "."
        if errors:
            raise ValidationError(errors)

    @property
    def source(self) -> str:
        return f"{SOURCE_PREFIX}{self.name}"

    @property
    def source_annotator(self) -> str:
        return f"v{self.version}"

    def cost(self, prompt_tokens: int, completion_tokens: int) -> Decimal:
        """Estimated USD for that many tokens at this version's prices."""
        million = Decimal(1_000_000)
        return (
            Decimal(prompt_tokens) * self.price_prompt_per_mtok
            + Decimal(completion_tokens) * self.price_completion_per_mtok
        ) / million


class MachineRun(Job):
    """One machine annotator version over one classification batch: a background job
    (core.jobs) whose row counts what it did. Running it again (after a kill, a cancel or
    failures) calls only for items without a verdict of that version."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="machine_runs")
    annotator = models.ForeignKey(MachineAnnotator, on_delete=models.PROTECT, related_name="runs")
    done = models.PositiveIntegerField(default=0, help_text="Items with a parsed verdict.")
    unparseable = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(
        default=0, help_text="Items whose calls failed in the last pass (no verdict stored)."
    )
    requests = models.PositiveIntegerField(default=0, help_text="Chat-completion calls answered.")
    prompt_tokens = models.BigIntegerField(default=0)
    completion_tokens = models.BigIntegerField(default=0)
    estimated_cost = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal(0))

    class Meta(Job.Meta):
        constraints = [
            *Job.Meta.constraints,
            models.UniqueConstraint(fields=["batch", "annotator"], name="machine_run_once"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.batch}"


class MachineVerdictManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(source__startswith=SOURCE_PREFIX)


class MachineVerdict(ExternalAnnotation):
    """The external annotations machine annotators gave (source `machine:<name>`), for the
    admin page that shows a verdict's transcript next to its item."""

    objects = MachineVerdictManager()

    class Meta:
        proxy = True
        verbose_name = "machine verdict"


# Django finds an app's models in its models module; routing's live in routing_models.py.
from .routing_models import BatchRouting, RoutingDecision  # noqa: E402

__all__ = ["BatchRouting", "MachineAnnotator", "MachineRun", "MachineVerdict", "RoutingDecision"]
