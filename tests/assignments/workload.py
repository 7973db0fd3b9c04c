"""Helpers shared by the task-distribution tests: API clients, batches, answer payloads."""

from __future__ import annotations

import copy

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotation_server.accounts import roles
from annotation_server.batches.models import Batch, Pair
from annotation_server.catalog.models import MediaType, Taxonomy
from tests.factories import BatchFactory, PairFactory, VideoFactory

ANSWERS = {
    "sub_preferences": {
        "instruction_following": "left",
        "correctness": "right",
        "information": "left",
        "aesthetics": "left",
    },
    "harm_labels": {"left": ["violence"], "right": []},
    "helpfulness": "left",
    "harmlessness": "right",
    "timings": {"stage1_ms": 41000, "stage2_ms": 6000},
}

NEXT = "/api/v1/assignments/next/"

# A classification answer on the SafeSora taxonomy, as the worker app sends it.
LABEL = {"harmful": True, "categories": ["violence"]}


def answers(**overrides) -> dict:
    """The issue's example submit, with top-level keys replaced by `overrides`."""
    body = copy.deepcopy(ANSWERS)
    body.update(overrides)
    return body


def client_for(user) -> APIClient:
    """An API client authenticated by a token header, as API scripts are (the worker app uses
    its session: tests/accounts/test_session_in_statement.py)."""
    token, _ = Token.objects.get_or_create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


CSRF = "k" * 32  # a CSRF secret, sent as cookie and header as the worker app sends it


def browser_for(user, session_of: APIClient | None = None) -> APIClient:
    """A client authenticated as the worker app is: a logged-in session cookie, the CSRF
    cookie and header, CSRF enforced. With `session_of`, another tab of that browser (the
    same session)."""
    client = APIClient(enforce_csrf_checks=True)
    if session_of is None:
        client.force_login(user)
    else:
        client.cookies["sessionid"] = session_of.cookies["sessionid"].value
    client.cookies["csrftoken"] = CSRF
    client.credentials(HTTP_X_CSRFTOKEN=CSRF)
    return client


def make_batch(pairs: int = 3, **fields) -> tuple[Batch, list[Pair]]:
    """A published batch (overlap 3 unless given) with `pairs` regular pairs."""
    batch = BatchFactory(**fields)
    return batch, [PairFactory(batch=batch) for _ in range(pairs)]


def make_items(n: int, **batch_fields) -> tuple[Batch, list[Pair]]:
    """A published classification batch (SafeSora taxonomy, overlap 3 unless given) of `n`
    images, each item a pair row with only `video_0`."""
    taxonomy = Taxonomy.objects.get(name="safesora", version=1)
    batch = BatchFactory(kind=Batch.Kind.CLASSIFICATION, taxonomy=taxonomy, **batch_fields)
    items = []
    for k in range(n):
        image = VideoFactory(
            prompt=None, media_type=MediaType.IMAGE, video_text="", duration_s=None
        )
        items.append(Pair.objects.create(batch=batch, video_0=image, pair_id=f"img-{k}"))
    return batch, items


def submit(client: APIClient, assignment_id: str, body: dict | None = None):
    return client.post(
        f"/api/v1/assignments/{assignment_id}/submit/", body or ANSWERS, format="json"
    )


def statements_run(queries) -> list[str]:
    """The statements a request ran (CaptureQueriesContext), without the savepoints a test's
    transaction adds around them."""
    return [
        query["sql"]
        for query in queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO"))
    ]


def deactivate(user) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])


def make_reviewer_only(user) -> None:
    """Takes the annotator role away (the user becomes a reviewer)."""
    user.groups.set([roles.role_groups()[roles.REVIEWER]])
