"""The database itself refuses illegal states, whatever code path tries to store them."""

import re

import pytest
from django.db import IntegrityError, connection, transaction

from annotation_server import taxonomy
from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from annotation_server.batches.models import Pair
from annotation_server.catalog.models import Video
from annotation_server.core.domains import DOMAINS
from tests.exports.annotating import annotate
from tests.factories import BatchFactory, PairFactory, PromptFactory, VideoFactory


def _refused(fn):
    with pytest.raises(IntegrityError), transaction.atomic():
        fn()


@pytest.mark.django_db
def test_pair_of_same_video_is_refused():
    pair = PairFactory()
    _refused(
        lambda: Pair.objects.create(
            batch=pair.batch,
            prompt=pair.prompt,
            video_0=pair.video_0,
            video_1=pair.video_0,
            pair_id="self",
        )
    )


@pytest.mark.django_db
def test_same_unordered_pair_twice_in_a_batch_is_refused():
    pair = PairFactory()
    _refused(
        lambda: Pair.objects.create(
            batch=pair.batch,
            prompt=pair.prompt,
            video_0=pair.video_1,
            video_1=pair.video_0,
            pair_id="reversed",
        )
    )
    # ...but another batch may hold the same pair.
    Pair.objects.create(
        batch=BatchFactory(),
        prompt=pair.prompt,
        video_0=pair.video_1,
        video_1=pair.video_0,
        pair_id=pair.pair_id,
    )


@pytest.mark.django_db
def test_pair_across_prompts_is_refused_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.fail("this suite runs on PostgreSQL (make test)")
    a, b = VideoFactory(), VideoFactory()  # two different prompts
    _refused(
        lambda: Pair.objects.create(
            batch=BatchFactory(), prompt=a.prompt, video_0=a, video_1=b, pair_id="x"
        )
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"status": "failed", "failure_reason": ""},
        {"status": "ready", "rendition": ""},
        {"status": "exploded"},
    ],
)
def test_video_states_without_their_facts_are_refused(changes):
    video = VideoFactory()
    _refused(lambda: Video.objects.filter(pk=video.pk).update(**changes))


@pytest.mark.django_db
@pytest.mark.parametrize("changes", [{"overlap": 0}, {"gold_rate": 1.5}, {"status": "live"}])
def test_batch_illegal_settings_are_refused(changes):
    batch = BatchFactory()
    _refused(lambda: type(batch).objects.filter(pk=batch.pk).update(**changes))


@pytest.mark.django_db
def test_unknown_prompt_type_is_refused():
    prompt = PromptFactory()
    _refused(lambda: type(prompt).objects.filter(pk=prompt.pk).update(prompt_type="spicy"))


# Single-column rules of the tables every claim and submit writes (core/domains.py).
_COLUMN_RULES = [
    (Pair, {"taken": -1}),
    (Assignment, {"status": "done"}),
    (Assignment, {"slot": 2}),
    (Assignment, {"slot": -1}),
    (Annotation, {"helpfulness": "left"}),
    (Annotation, {"pref_aesthetics": ""}),
    (Annotation, {"stage1_ms": -5}),
    (Annotation, {"server_duration_ms": -1}),
    (Annotation, {"gold_score": 1.5}),
    (Annotation, {"gold_score": -0.1}),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("model", "changes"), _COLUMN_RULES)
def test_hot_table_column_rules_are_enforced(django_user_model, model, changes):
    annotation = annotate(PairFactory(), django_user_model.objects.create(username="w"))
    row = {Pair: annotation.pair, Assignment: annotation.assignment, Annotation: annotation}[model]
    _refused(lambda: model.objects.filter(pk=row.pk).update(**changes))
    # The legal neighbours of each refused value are stored.
    legal = {
        "taken": 0,
        "status": "expired",
        "slot": None,
        "helpfulness": "video_1",
        "pref_aesthetics": "video_1",
        "stage1_ms": 0,
        "server_duration_ms": 0,
        "gold_score": 1.0,
    }
    field = next(iter(changes))
    assert model.objects.filter(pk=row.pk).update(**{field: legal[field]}) == 1


@pytest.mark.django_db
def test_hot_tables_check_single_columns_by_domain_on_postgresql():
    """On PostgreSQL those rules live in the columns' domains: the only table CHECKs left on
    the three hot tables relate two columns (each table CHECK is re-planned per write)."""
    if connection.vendor != "postgresql":
        pytest.fail("this suite runs on PostgreSQL (make test)")
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT conrelid::regclass::text, conname FROM pg_constraint
               WHERE contype = 'c' AND conrelid = ANY(%s::regclass[]) ORDER BY 1, 2""",
            [[m._meta.db_table for m in (Pair, Assignment, Annotation)]],
        )
        checks = cursor.fetchall()
        cursor.execute(
            """SELECT typname, format_type(typbasetype, typtypmod) FROM pg_type
               WHERE typtype = 'd' AND typname = ANY(%s)""",
            [list(DOMAINS)],
        )
        domains = dict(cursor.fetchall())
    assert checks == [
        ("assignments_assignment", "assignment_finished_when_closed"),
        ("batches_pair", "pair_gold_has_answer"),
        ("batches_pair", "pair_videos_distinct"),
    ]
    # The migration's frozen definitions match core.domains (a field's column type must be
    # its domain's base type).
    expected = {
        name: base.replace("varchar", "character varying") for name, (base, _) in DOMAINS.items()
    }
    assert domains == expected


def test_taxonomy_matches_safesora_keys():
    assert taxonomy.HARM_KEYS == (
        "porn",
        "animal_abuse",
        "child_abuse",
        "crime",
        "controversial",
        "contraband",
        "hate",
        "violence",
        "racism",
        "other_discrimination",
        "terrorism",
        "other_harmful",
    )
    assert [c.code for c in taxonomy.HARM_CATEGORIES] == [f"S{i}" for i in range(1, 13)]
    assert taxonomy.SUB_DIMENSION_KEYS == (
        "instruction_following",
        "correctness",
        "information",
        "aesthetics",
    )
    assert all(c.label_zh and c.description_zh for c in taxonomy.HARM_CATEGORIES)
    assert taxonomy.harm_label(["violence"])["violence"] is True
    assert sum(taxonomy.harm_label(["violence"]).values()) == 1
    with pytest.raises(ValueError):
        taxonomy.harm_label(["spicy"])
    assert taxonomy.validate_harm_label({"porn": True}) != []


def test_choice_domains_list_exactly_the_models_choices():
    """The domains spell out the allowed values (core cannot import the apps that use it):
    adding a status or a choice without its domain would make the database refuse it."""
    from annotation_server.annotations.models import Choice

    def listed(domain: str) -> set[str]:
        return set(re.findall(r"'([^']*)'", DOMAINS[domain][1]))

    assert listed("annot_assignment_status") == set(Assignment.Status.values)
    assert listed("annot_video_choice") == set(Choice.values)
    fields = {
        f.domain: f.choices
        for m in (Assignment, Annotation)
        for f in m._meta.concrete_fields
        if getattr(f, "domain", None) and f.choices
    }
    assert set(fields) == {"annot_assignment_status", "annot_video_choice"}
