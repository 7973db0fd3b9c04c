"""A worker on a classification batch with hints on sees the machine's suggestion on a hinted
item, marked as such, and none on an unhinted one; the keyboard flow is the usual one."""

from __future__ import annotations

import pytest

from annotation_server.annotations.models import Annotation, ExternalAnnotation
from annotation_server.batches.models import Pair
from annotation_server.machines.annotators import machine_annotator_save
from annotation_server.machines.hints import batch_hints_set, is_hinted
from annotation_server.machines.routing_models import HintShown
from tests.browser.helpers import login, start_task, wait_until
from tests.browser.test_classification_flow import make_items  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_hinted_item_shows_the_machine_suggestion_and_an_unhinted_one_none(
    live_server,
    page,
    make_items,  # noqa: F811
    make_user,
):
    batch = make_items(images=2)
    first, second = Pair.objects.filter(batch=batch).order_by("pk")
    version, _ = machine_annotator_save(
        name="hint-vlm", base_url="http://127.0.0.1:9/v1", model="m", api_key_env="HINT_KEY"
    )
    for item in (first, second):
        ExternalAnnotation.objects.create(
            pair=item, batch=batch, source=version.source,
            source_annotator=version.source_annotator, taxonomy=batch.taxonomy,
            answer={"harmful": True, "categories": ["violence"]}, details={"status": "ok"},
        )  # fmt: skip
    hints = batch_hints_set(batch, annotator=version, enabled=True)
    # A seed that hints the first item (claimed first: fewest assignments, then id) only.
    hints.seed = next(
        s for s in range(10_000) if is_hinted(s, first.pk) and not is_hinted(s, second.pk)
    )
    hints.save()

    login(page, live_server.url, make_user("annotator").username)
    shown = start_task(page)
    hint = page.locator("#hint")
    hint.wait_for()
    assert hint.get_attribute("role") == "note"
    text = hint.inner_text()
    assert hint.locator(".tag").text_content() == "Machine suggestion"
    assert "A machine annotator says:" in text
    assert page.locator("#hint-text").inner_text() == (
        "harmful; categories: Violence, Injury, Gory Content"
    )
    assert "It can be wrong: give your own judgement." in text
    # The keyboard flow is unchanged: focus waits on the harmful question.
    wait_until(page, "document.activeElement?.name === 'harmful'")
    page.keyboard.press("n")
    page.keyboard.press("Enter")

    wait_until(page, "id => document.querySelector('main.pair')?.dataset.assignment !== id", shown)
    wait_until(page, "document.activeElement?.name === 'harmful'")
    assert page.locator("#hint").count() == 0
    page.keyboard.press("n")
    page.keyboard.press("Enter")
    page.locator("#done").wait_for()
    wait_until(page, "document.querySelector('#sync').dataset.state === 'idle'")

    answered = dict(Annotation.objects.values_list("pair_id", "harmful"))
    assert answered == {first.pk: False, second.pk: False}
    assert list(HintShown.objects.values_list("assignment__pair_id", flat=True)) == [first.pk]
