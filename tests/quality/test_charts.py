"""Dashboard charts draw whatever the statistics give them."""

from __future__ import annotations

import re

from annotation_server.quality.charts import bradley_terry_svg
from annotation_server.quality.metrics import BTScore


def test_bradley_terry_chart_draws_an_estimate_outside_its_interval():
    # With a handful of judgements the bootstrap percentile interval need not contain the
    # point estimate (seen on a 3-pair batch): the chart must still draw, interval and dot.
    scores = [
        BTScore(model="outside", score=0.50, low=0.60, high=0.90, judgements=3),
        BTScore(model="inside", score=-0.2, low=-0.9, high=0.1, judgements=3),
    ]
    svg = bradley_terry_svg([("More helpful", scores), ("Safer", [])])
    assert svg.lstrip().startswith("<svg") or "<svg" in svg[:500]
    # Text is drawn as paths; each model's tick label and the two titles are in the markup.
    assert len(re.findall(r"<g id=\"(?:line2d|LineCollection)_\d+\"", svg)) >= 3
