"""A realistic simulated batch for demos, screenshots and benchmarks (`manage.py simulate_batch`).

Generator models have latent helpfulness and safety; careful annotators mostly agree with a
per-pair "true" answer drawn from those, a random clicker answers by coin flip and quickly.
Rows are written with bulk statements of a bounded size, so a SafeSora-sized batch (25,846
prompts → 51,692 pairs, ~155k answers) fits PostgreSQL's parameter limit; the pair counters
match the annotations.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from annotation_server.accounts import roles
from annotation_server.annotations import answers as answer_rules
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment, PairReport
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import Prompt, Video
from annotation_server.core.exceptions import ApplicationError
from annotation_server.core.planner import statistics_refresh
from annotation_server.taxonomy import HARM_KEYS, SUB_DIMENSION_KEYS, harm_label

# name → (helpfulness, safety) on a logit scale.
MODELS = {
    "lumiere-xl": (0.9, 0.2),
    "cinegen-2": (0.5, 0.6),
    "motionflow": (0.0, -0.1),
    "pixeldream-1.5": (-0.6, -0.5),
}
# A tqdm-like wrapper around a long loop: progress(iterable, desc=, total=, unit=).
Progress = Callable[..., Iterable]
_DIMENSIONS = [f"pref_{key}" for key in SUB_DIMENSION_KEYS] + ["helpfulness", "harmlessness"]
# The harms of safety-critical prompts (their prompt_labels) and of the videos that show them.
RISKY_HARMS = ["violence", "crime", "hate", "other_harmful"]
_SCENES = {
    "violence": "two men fight with bottles",
    "crime": "a thief breaks into parked cars",
    "hate": "a crowd shouts insults at a passer-by",
    "other_harmful": "teenagers jump between rooftops",
}


@dataclass(frozen=True)
class SimulationResult:
    batch: Batch
    pairs: int
    annotations: int
    annotators: list[str]  # careful annotators first, then the random clickers
    clickers: int
    videos: int


# Rows per INSERT/UPDATE statement: far below PostgreSQL's 65,535 parameters per statement
# for every model written here (a video row has about 25 columns).
WRITE_BATCH_SIZE = 1000
# Simulated answers are written once this many are waiting, so memory stays bounded.
FLUSH_EVERY = 20_000


def _no_progress(iterable: Iterable, **_options) -> Iterable:
    return iterable


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def batch_simulate(**options) -> SimulationResult:
    """Create a published batch with simulated annotators and their annotations (see
    `_batch_simulate` for the options), then refresh the planner's statistics."""
    result = _batch_simulate(**options)
    # With the load's statistics missing, the dashboard's per-pair aggregates are planned as
    # if the batch were empty (nested loops, tens of seconds at 10k pairs).
    statistics_refresh(Prompt, Video, Pair, Assignment, Annotation)
    return result


@transaction.atomic
def _batch_simulate(
    *,
    name: str,
    prompts: int = 60,
    annotators: int = 6,
    clickers: int = 1,
    overlap: int = 3,
    gold_pairs: int = 6,
    hours: int = 30,
    seed: int = 1,
    password: str | None = None,
    batch_size: int = WRITE_BATCH_SIZE,
    progress: Progress = _no_progress,
) -> SimulationResult:
    """Create a published batch `name` with simulated annotators and their annotations.

    Every write is a bulk statement of at most `batch_size` rows. `progress` wraps the long
    loops (a `tqdm`-like callable: iterable, desc=, total=, unit=). With `password`, every
    simulated worker can log in with it; without, none can.
    """
    if Batch.objects.filter(name=name).exists():
        raise ApplicationError(f"A batch named {name!r} already exists; choose another name.")
    if annotators + clickers < overlap:
        raise ApplicationError("Need at least `overlap` annotators to fill every pair.")
    if batch_size < 1:
        raise ApplicationError("batch_size must be at least 1.")
    rng = random.Random(seed)
    now = timezone.now()
    batch = Batch.objects.create(
        name=name,
        status=Batch.Status.PUBLISHED,
        overlap=overlap,
        gold_rate=0.1,
        published_at=now - dt.timedelta(hours=hours),
    )
    pairs, videos = _make_pairs(batch, prompts, gold_pairs, rng, batch_size, progress)
    workers = _make_workers(name, annotators, clickers, password, batch_size)
    regular = [p for p in pairs if not p.is_gold]
    gold = [p for p in pairs if p.is_gold]
    answers = _Answers(batch_size)
    for index, pair in enumerate(
        progress(regular, desc="answers", total=len(regular), unit="pair")
    ):
        # A batch in full swing: most pairs complete, some started, the rest untouched.
        share = index / len(regular)
        judged = overlap if share < 0.6 else rng.randint(0, overlap - 1) if share < 0.85 else 0
        for worker, clicker in rng.sample(workers, judged):
            answers.add(*_judge(pair, worker, clicker, pair.truth, now, hours, rng))
    for worker, clicker in workers:
        for pair in rng.sample(gold, min(len(gold), 4)):
            answers.add(*_judge(pair, worker, clicker, pair.truth, now, hours, rng))
    answers.flush()
    # auto_now_add overwrote the simulated submission times: put them back, in one statement.
    Annotation.objects.filter(batch=batch).update(
        created_at=Subquery(
            Assignment.objects.filter(pk=OuterRef("assignment_id")).values("finished_at")[:1]
        )
    )
    for pair in regular:
        pair.taken = answers.per_pair.get(pair.pk, 0)
    Pair.objects.bulk_update(regular, ["taken"], batch_size=batch_size)
    _add_open_and_reports(batch, regular, workers, now, rng)
    return SimulationResult(
        batch=batch,
        pairs=len(pairs),
        annotations=answers.written,
        annotators=[w.username for w, _ in workers],
        clickers=clickers,
        videos=videos,
    )


class _Answers:
    """Simulated assignments and annotations waiting to be written, in bulk."""

    def __init__(self, batch_size: int):
        self.batch_size = batch_size
        self.assignments: list[Assignment] = []
        self.annotations: list[Annotation] = []
        self.per_pair: dict[int, int] = {}  # regular pairs: annotations written
        self.written = 0

    def add(self, assignment: Assignment, annotation: Annotation) -> None:
        self.assignments.append(assignment)
        self.annotations.append(annotation)
        if not annotation.is_gold:
            self.per_pair[annotation.pair_id] = self.per_pair.get(annotation.pair_id, 0) + 1
        if len(self.annotations) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        Assignment.objects.bulk_create(self.assignments, batch_size=self.batch_size)
        # Each annotation takes its assignment's new primary key from the object it holds.
        Annotation.objects.bulk_create(self.annotations, batch_size=self.batch_size)
        self.written += len(self.annotations)
        self.assignments, self.annotations = [], []


def _make_pairs(
    batch: Batch,
    prompts: int,
    gold_pairs: int,
    rng: random.Random,
    batch_size: int,
    progress: Progress,
) -> tuple[list[Pair], int]:
    """Prompts with one video per model and two pairs each; the pairs carry their `truth`."""
    names = list(MODELS)
    prompt_rows, video_rows, planned = [], [], []
    for i in progress(range(prompts), desc="prompts", total=prompts, unit="prompt"):
        critical = i % 2 == 0
        # Labelled like a released prompt set, so the batch exports like a real one.
        harm = RISKY_HARMS[(i // 2) % len(RISKY_HARMS)] if critical else None
        scene = f" where {_SCENES[harm]}" if harm else " with people and animals"
        prompt = Prompt(
            prompt_id=f"{batch.name}-p{i:04d}",
            text=f"Simulated prompt {i}: a street scene at dusk{scene}.",
            prompt_type="safety_critical" if critical else "safety_neutral",
            prompt_labels=harm_label([harm] if harm else []),
        )
        videos = []
        for model in names:
            video_id = f"{batch.name}-v{i:04d}-{model}"
            digest = hashlib.sha256(video_id.encode()).hexdigest()
            videos.append(
                Video(
                    video_id=video_id,
                    prompt=prompt,
                    video_text=prompt.text,
                    generated_from=model,
                    sha256=digest,
                    source=f"videos/source/{digest}.mp4",
                    status=Video.Status.READY,
                    rendition=f"videos/renditions/{digest}.mp4",
                    duration_s=4.0,
                )
            )
        rng.shuffle(videos)
        prompt_rows.append(prompt)
        video_rows.extend(videos)
        planned.append((prompt, videos))
    Prompt.objects.bulk_create(prompt_rows, batch_size=batch_size)
    Video.objects.bulk_create(video_rows, batch_size=batch_size)
    pairs = []
    for prompt, videos in planned:
        for a, b in ((videos[0], videos[1]), (videos[2], videos[3])):
            gold = len(pairs) < gold_pairs
            pairs.append(
                Pair(
                    batch=batch,
                    prompt=prompt,
                    video_0=a,
                    video_1=b,
                    pair_id=f"{a.video_id}__{b.video_id}",
                    is_gold=gold,
                    gold_answer={} if gold else None,
                )
            )
    for pair in pairs:
        pair.truth = _true_answer(pair, rng)
        if pair.is_gold:
            pair.gold_answer = {k: pair.truth[k] for k in ("helpfulness", "harmlessness")}
    Pair.objects.bulk_create(pairs, batch_size=batch_size)
    return pairs, len(video_rows)


def _make_workers(
    name: str, annotators: int, clickers: int, password: str | None, batch_size: int
) -> list[tuple]:
    User = get_user_model()
    # One hash for everyone: hashing is deliberately slow, and these are simulated accounts.
    hashed = make_password(password) if password else None
    users = []
    for i in range(annotators + clickers):
        kind = "clicker" if i >= annotators else "annotator"
        user = User(username=f"{name}-{kind}{i + 1:02d}")
        if hashed:
            user.password = hashed
        else:
            user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=batch_size)
    group = roles.role_groups()[roles.ANNOTATOR]
    membership = User.groups.through
    membership.objects.bulk_create(
        [membership(user_id=u.pk, group_id=group.pk) for u in users], batch_size=batch_size
    )
    return [(user, i >= annotators) for i, user in enumerate(users)]


def _true_answer(pair: Pair, rng: random.Random) -> dict:
    m0, m1 = pair.video_0.generated_from, pair.video_1.generated_from
    help_gap = MODELS[m0][0] - MODELS[m1][0]
    safe_gap = MODELS[m0][1] - MODELS[m1][1]
    answer = {}
    for dim in _DIMENSIONS:
        gap = safe_gap if dim == "harmlessness" else help_gap
        answer[dim] = "video_0" if rng.random() < _sigmoid(1.5 * gap) else "video_1"
    critical = pair.prompt.prompt_type == "safety_critical"
    for side, model in (("video_0_harms", m0), ("video_1_harms", m1)):
        risky = critical and rng.random() < 0.45 - 0.25 * MODELS[model][1]
        answer[side] = rng.sample(RISKY_HARMS, 1) if risky else []
    return answer


def _judge(pair, worker, clicker, truth, now, hours, rng) -> tuple[Assignment, Annotation]:
    if clicker:
        values = {dim: rng.choice(["video_0", "video_1"]) for dim in _DIMENSIONS}
        harms = {
            s: [k for k in HARM_KEYS if rng.random() < 0.06]
            for s in ("video_0_harms", "video_1_harms")
        }
        duration = rng.uniform(6, 14)
    else:
        values = {
            dim: truth[dim]
            if rng.random() < 0.86
            else ("video_1" if truth[dim] == "video_0" else "video_0")
            for dim in _DIMENSIONS
        }
        harms = {
            s: [k for k in truth[s] if rng.random() < 0.85]
            + ([rng.choice(HARM_KEYS)] if rng.random() < 0.03 else [])
            for s in ("video_0_harms", "video_1_harms")
        }
        duration = rng.lognormvariate(math.log(75), 0.35)
    # Work happens in waking hours: skew submissions towards the last day.
    finished = now - dt.timedelta(hours=hours * rng.random() ** 1.3)
    assignment = Assignment(
        pair=pair,
        batch=pair.batch,
        annotator=worker,
        status=Assignment.Status.SUBMITTED,
        left_is_video_0=rng.random() < 0.5,
        is_gold=pair.is_gold,
        claimed_at=finished - dt.timedelta(seconds=duration),
        expires_at=finished + dt.timedelta(minutes=30),
        finished_at=finished,
    )
    fields = {**values, **{s: sorted(set(h), key=HARM_KEYS.index) for s, h in harms.items()}}
    gold_score = (
        answer_rules.gold_score(fields, pair.gold_answer)
        if pair.is_gold and pair.gold_answer
        else None
    )
    return assignment, Annotation(
        assignment=assignment,
        pair=pair,
        batch=pair.batch,
        annotator=worker,
        **fields,
        left_is_video_0=assignment.left_is_video_0,
        server_duration_ms=int(duration * 1000),
        is_gold=pair.is_gold,
        gold_score=gold_score,
    )


def _add_open_and_reports(batch, regular, workers, now, rng) -> None:
    """A few open assignments and two reports on unfinished pairs, as a live batch has."""
    unfinished = [p for p in regular if p.taken < batch.overlap]
    for number, pair in enumerate(rng.sample(unfinished, min(6, len(unfinished)))):
        busy = set(Assignment.objects.filter(pair=pair).values_list("annotator_id", flat=True))
        free = [w for w, _ in workers if w.pk not in busy]
        if not free:
            continue
        worker = rng.choice(free)
        report = number < 2
        a = Assignment.objects.create(
            pair=pair,
            batch=batch,
            annotator=worker,
            status=Assignment.Status.REPORTED if report else Assignment.Status.OPEN,
            left_is_video_0=True,
            claimed_at=now - dt.timedelta(minutes=5),
            expires_at=now + dt.timedelta(minutes=25),
            finished_at=now if report else None,
        )
        if report:
            PairReport.objects.create(
                assignment=a,
                pair=pair,
                annotator=worker,
                kind="report",
                reason="broken_video",
                note="The right video is black.",
            )
        else:
            Pair.objects.filter(pk=pair.pk).update(taken=pair.taken + 1)
