"""The dataset card's agreement table is the dashboard's: its stored figures while they
describe the batch's answers, the answers' own figures once answers arrived after them."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from annotation_server.quality.figures import batch_figures_current, batch_figures_refresh
from annotation_server.quality.models import BatchFigures

from .annotating import V1, annotate
from .world import build_world


def _card_agreement(out) -> list[tuple[str, str, str, str]]:
    """(question, alpha, raw, units) of each row of the card's agreement table."""
    body = (out / "README.md").read_text(encoding="utf-8")
    section = body.split("## Agreement", 1)[1].split("## License", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ")]
    return [tuple(cell.strip() for cell in row) for row in rows[1:]]  # after the header


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _dashboard_agreement(batch) -> list[tuple[str, str, str, str]]:
    figures = batch_figures_current(batch=batch)
    assert figures.fresh
    return [
        (f"{r.group}: {r.label}", _figure(r.alpha), _figure(r.raw), f"{r.units:,}")
        for r in figures.agreement
    ]


def _export(out) -> None:
    call_command("export_safesora", "--out", str(out), "--format", "hf", verbosity=0)


@pytest.mark.django_db
def test_card_agreement_is_the_dashboards_stored_or_recomputed(make_user, tmp_path):
    world = build_world(make_user)
    annotate(world.pairs[0], make_user(), prefer=V1)  # a dissent: figures other than 1.000
    batch_figures_refresh(batch_id=world.batch.pk)
    # Mark the stored figures so the card shows whether it read them or computed its own.
    stored = BatchFigures.objects.get(batch=world.batch)
    stored.data["agreement"][0]["raw"] = 0.25
    stored.save(update_fields=["data"])

    _export(tmp_path / "current")
    card = _card_agreement(tmp_path / "current")
    assert card == _dashboard_agreement(world.batch)
    assert card[0][2] == "0.250"

    annotate(world.pairs[1], make_user(), prefer=V1)  # the stored figures are now stale
    _export(tmp_path / "stale")
    card = _card_agreement(tmp_path / "stale")
    assert card[0][2] != "0.250"
    batch_figures_refresh(batch_id=world.batch.pk)  # what the dashboard shows once refreshed
    assert card == _dashboard_agreement(world.batch)
    assert len(card) == 6 + 12 and card[0][3] == "9"  # six preferences, 12 harms; 9 pairs
