"""Never lose work: drafts survive a reload, submits survive a server that is down."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session

from annotation_server.annotations.models import Annotation
from annotation_server.assignments.models import Assignment
from tests.browser.helpers import login, start_task, wait_unlocked, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _checked(page, name: str) -> list[str]:
    return page.evaluate(
        "n => [...document.querySelectorAll(`input[name='${n}']:checked`)].map(i => i.value)", name
    )


def test_reload_mid_pair_restores_answers(live_server, page, make_batch, make_user):
    make_batch(pairs=1, must_watch=True)
    login(page, live_server.url, make_user("annotator").username)
    first = start_task(page)
    page.keyboard.press("Space")
    wait_unlocked(page)
    page.keyboard.press("2")  # instruction following: right
    page.keyboard.press("1")  # correctness: left
    page.check("input[name='none-left']")
    page.check("input[name='harm-right'][value='crime']")

    page.reload()
    page.locator("main.pair").wait_for()
    assert page.locator("main.pair").get_attribute("data-assignment") == first
    # Watching is remembered too: no need to watch again to change an answer.
    wait_unlocked(page)
    assert _checked(page, "dim-instruction_following") == ["right"]
    assert _checked(page, "dim-correctness") == ["left"]
    assert _checked(page, "dim-information") == []
    assert page.is_checked("input[name='none-left']")
    assert _checked(page, "harm-right") == ["crime"]
    assert "restored" in page.locator("#flash").inner_text()


def _complete_pair(page) -> None:
    page.keyboard.press("Space")
    wait_unlocked(page)
    for key in ["1", "1", "2", "2", "n", "n", "1", "1"]:
        page.keyboard.press(key)


def test_submit_while_server_is_down_is_delivered_once_it_is_back(
    live_server, page, make_batch, make_user
):
    make_batch(pairs=2, must_watch=True)
    login(page, live_server.url, make_user("annotator").username)
    first = start_task(page)
    attempts = {"n": 0, "server_up": False}

    def flaky(route):
        attempts["n"] += 1
        if not attempts["server_up"]:
            route.abort("connectionrefused")  # the server is down: nothing reaches it
        elif attempts["n"] == attempts["first_up"]:
            route.fetch()  # reaches the server and is stored…
            route.abort("connectionreset")  # …but the answer to the browser is lost
        else:
            route.continue_()

    page.route("**/api/v1/assignments/*/submit/", flaky)
    _complete_pair(page)
    page.keyboard.press("Enter")

    # The next pair shows at once; the answer waits, visibly, in the outbox.
    wait_until(page, "id => document.querySelector('main.pair')?.dataset.assignment !== id", first)
    wait_until(page, "document.querySelector('#sync').dataset.state === 'waiting'")
    assert "retrying" in page.locator("#sync").inner_text()
    assert not Annotation.objects.filter(assignment_id=first).exists()
    # Leaving now would lose the answer: the page asks first.
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.type), d.dismiss()))
    page.close(run_before_unload=True)
    wait_until(page, "true")
    assert dialogs == ["beforeunload"]

    attempts["server_up"] = True
    attempts["first_up"] = attempts["n"] + 1
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'", timeout_s=30)
    assert attempts["n"] >= attempts["first_up"] + 1  # the lost answer was sent again
    assert Annotation.objects.filter(assignment_id=first).count() == 1
    assert Assignment.objects.get(pk=first).status == Assignment.Status.SUBMITTED


def test_answer_sent_after_the_session_ended_is_kept_until_the_worker_logs_in_again(
    live_server, page, make_batch, make_user
):
    make_batch(pairs=2, must_watch=True)
    worker = make_user("annotator")
    login(page, live_server.url, worker.username)
    first = start_task(page)
    _complete_pair(page)
    Session.objects.all().delete()  # the session expired on the server
    page.keyboard.press("Enter")
    wait_until(page, "document.querySelector('#sync').dataset.state === 'auth'")
    assert "log in again" in page.locator("#sync").inner_text()
    assert not Annotation.objects.filter(assignment_id=first).exists()

    other_tab = page.context.new_page()
    login(other_tab, live_server.url, worker.username)  # new session, new CSRF token
    other_tab.close()
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'", timeout_s=30)
    assert Annotation.objects.filter(assignment_id=first).count() == 1
