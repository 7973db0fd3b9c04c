"""Charts of a classification batch against an external source (matplotlib SVG, text as paths
as in `charts.py`, so labels from imported data cannot inject markup)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

# pyplot comes from `charts`, which selects the display-less backend before importing it.
from annotation_server.quality.charts import _STYLE, _svg, plt
from annotation_server.quality.classification_stats import FieldComparison


def source_svg(source: str, fields: Sequence[FieldComparison], labels: Sequence[str]) -> str:
    """The `harmful` confusion matrix (our majority × the source) beside Cohen's κ and F1 of
    every field with items to compare, one bar pair per field."""
    rows = tuple(
        (label, f.kappa, f.f1, f.items)
        for f, label in zip(fields, labels, strict=True)
        # A category nobody said yes to has neither score: the table lists it, the chart not.
        if f.field != "harmful" and f.items and (f.kappa is not None or f.f1 is not None)
    )
    harmful = next(f for f in fields if f.field == "harmful")
    confusion = ((harmful.tn, harmful.fp), (harmful.fn, harmful.tp))
    return _source_svg(
        source, confusion, ((labels[0], harmful.kappa, harmful.f1, harmful.items), *rows)
    )


@functools.lru_cache(maxsize=32)
def _source_svg(
    source: str,
    confusion: tuple[tuple[int, int], tuple[int, int]],
    rows: tuple[tuple[str, float | None, float | None, int], ...],
) -> str:
    with plt.rc_context(_STYLE):
        height = max(2.6, 0.28 * len(rows) + 1.0)
        fig, (left, right) = plt.subplots(
            1, 2, figsize=(10, height), width_ratios=(1, 2.4), layout="constrained"
        )
        _confusion(left, source, np.asarray(confusion))
        _scores(right, source, rows)
        return _svg(fig)


def _confusion(ax, source: str, matrix: np.ndarray) -> None:
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(int(matrix.max()), 1))
    for (i, j), n in np.ndenumerate(matrix):
        dark = n > matrix.max() / 2
        ax.text(j, i, str(n), ha="center", va="center", color="white" if dark else "#222")
    ax.set_xticks([0, 1], ["not harmful", "harmful"])
    ax.set_yticks([0, 1], ["not harmful", "harmful"])
    ax.set_ylabel(f"{source} (reference)")
    ax.set_xlabel("our majority")
    ax.set_title("Harmful: items")


def _scores(ax, source: str, rows) -> None:
    ordered = list(reversed(rows))  # harmful on top
    y = np.arange(len(ordered))
    kappa = [np.nan if r[1] is None else r[1] for r in ordered]
    f1 = [np.nan if r[2] is None else r[2] for r in ordered]
    ax.barh(y + 0.2, kappa, height=0.38, color="#3b6ea8", label="Cohen's κ")
    ax.barh(y - 0.2, f1, height=0.38, color="#b5533c", label="F1 (source positive)")
    ax.set_yticks(y, [f"{r[0]} (n={r[3]})" for r in ordered])
    ax.set_xlim(min(-0.1, np.nanmin([*kappa, 0.0]) - 0.05), 1.0)
    ax.axvline(0, color="#bbb", linewidth=0.8)
    ax.set_title(f"Our majority against {source}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
