"""The machines page's chart: a version's Cohen's κ per field with its bootstrap interval,
beside our workers' α on the field (the ceiling). Matplotlib SVG with text as paths, as
quality's charts draw (names from configuration or imports cannot inject markup)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

# pyplot comes from quality's `charts`, which selects the display-less backend first.
from annotation_server.quality.charts import _STYLE, _svg, plt


def version_svg(name: str, rows: Sequence) -> str:
    """`rows`: the version's `dashboard.FieldRow`s; fields with no κ and no α are left out."""
    points = tuple(
        (
            row.label,
            row.score.comparison.kappa,
            row.score.intervals.get("kappa"),
            row.ceiling.alpha,
            row.score.comparison.items,
        )
        for row in rows
        if row.score.comparison.kappa is not None or row.ceiling.alpha is not None
    )
    return _version_svg(name, points) if points else ""


@functools.lru_cache(maxsize=32)
def _version_svg(name: str, points: tuple) -> str:
    ordered = list(reversed(points))  # the first field (harmful) on top
    y = np.arange(len(ordered))
    kappa = np.array([np.nan if p[1] is None else p[1] for p in ordered])
    low = np.array([np.nan if p[2] is None else p[1] - p[2][0] for p in ordered])
    high = np.array([np.nan if p[2] is None else p[2][1] - p[1] for p in ordered])
    alpha = np.array([np.nan if p[3] is None else p[3] for p in ordered])
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(
            figsize=(8, max(1.8, 0.32 * len(ordered) + 0.9)), layout="constrained"
        )
        ax.barh(y, kappa, height=0.55, color="#3b6ea8", label="Cohen's κ with the majority")
        ax.errorbar(
            kappa,
            y,
            xerr=np.nan_to_num(np.vstack([low, high])),
            fmt="none",
            ecolor="#1d2733",
            capsize=3,
            label="95 % bootstrap interval",
        )
        ax.scatter(alpha, y, marker="|", s=260, color="#b5533c", zorder=3, label="workers' α")
        ax.set_yticks(y, [f"{p[0]} (n={p[4]})" for p in ordered])
        lowest = np.nanmin([*(kappa - np.nan_to_num(low)), *alpha, 0.0])
        ax.set_xlim(min(-0.1, lowest - 0.05), 1.0)
        ax.axvline(0, color="#bbb", linewidth=0.8)
        ax.set_title(f"{name} against our workers' majority")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return _svg(fig)
