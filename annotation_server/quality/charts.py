"""Dashboard charts drawn server-side with matplotlib as inline SVG (no JavaScript needed).

Text is drawn as paths (matplotlib's default `svg.fonttype = "path"`), so names that came from
imported data (generator models) cannot inject markup into the page.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot's import
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from annotation_server.quality.metrics import BTScore  # noqa: E402

_STYLE = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "path",
    "svg.hashsalt": "dashboard",
}


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    # Drop the XML prolog and DOCTYPE: the SVG is embedded inside an HTML page.
    return text[text.index("<svg") :]


def throughput_svg(hourly: Sequence[tuple[dt.datetime, int]]) -> str:
    """Bar chart of submitted annotations per hour."""
    return _throughput_svg(tuple(hourly))


# Drawing costs far more than computing: reloads with unchanged data reuse the last drawings
# (per process, a few dozen at most).
@functools.lru_cache(maxsize=32)
def _throughput_svg(hourly: tuple[tuple[dt.datetime, int], ...]) -> str:
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(11, 2.4))
        if hourly:
            hours = [h for h, _ in hourly]
            ax.bar(
                hours, [n for _, n in hourly], width=1 / 24 * 0.85, color="#3b6ea8", align="edge"
            )
            locator = mdates.AutoDateLocator(minticks=3, maxticks=7)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        else:
            ax.text(
                0.5,
                0.5,
                "no annotations yet",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#777",
            )
        ax.set_ylabel("annotations / hour")
        return _svg(fig)


def bradley_terry_svg(panels: Sequence[tuple[str, Sequence[BTScore]]]) -> str:
    """Bradley–Terry log-strengths with 95 % bootstrap intervals, one panel per question."""
    return _bradley_terry_svg(tuple((title, tuple(scores)) for title, scores in panels))


@functools.lru_cache(maxsize=32)
def _bradley_terry_svg(panels: tuple[tuple[str, tuple[BTScore, ...]], ...]) -> str:
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(
            1, len(panels), figsize=(4.6 * len(panels), 2.6), squeeze=False, layout="constrained"
        )
        for ax, (title, scores) in zip(axes[0], panels, strict=True):
            ordered = list(reversed(scores))  # best model on top
            y = range(len(ordered))
            # The interval as a line with end marks, the estimate as a dot: with few
            # judgements a point estimate can fall outside its bootstrap percentile interval,
            # which error bars (lengths from the point) cannot draw.
            lows, highs = [s.low for s in ordered], [s.high for s in ordered]
            ax.hlines(list(y), lows, highs, color="#555", linewidth=1)
            ax.plot(lows + highs, [*y, *y], "|", color="#555", markersize=6)
            ax.plot([s.score for s in ordered], list(y), "o", color="#b5533c")
            ax.set_yticks(list(y), [s.model for s in ordered])
            ax.axvline(0, color="#bbb", linewidth=0.8)
            ax.set_title(title)
            ax.set_xlabel("Bradley–Terry score (log strength)")
            if not ordered:
                ax.text(
                    0.5,
                    0.5,
                    "no judgements yet",
                    ha="center",
                    va="center",
                    transform=ax.transAxes,
                    color="#777",
                )
        return _svg(fig)
