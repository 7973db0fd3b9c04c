"""Inter-annotator reliability over numpy columns (no Django): the vectorised counterparts of
`metrics.krippendorff_alpha`, `metrics.raw_agreement` and `metrics.majority_agreement`.

Those take one list of values per unit and stay the plain definition; these take one entry
per answer (unit index, value) and build the units × values count matrix with `bincount`,
so 18 alphas over 150k answers cost milliseconds instead of a Counter per unit. Values here
are binary (video_0/video_1, harm absent/present): column 0 is False, column 1 True.
"""

from __future__ import annotations

import math

import krippendorff
import numpy as np


def value_counts(units: np.ndarray, values: np.ndarray, n_units: int) -> np.ndarray:
    """(n_units, 2) float counts of False and True answers per unit."""
    true = np.bincount(units, weights=values.astype(np.float64), minlength=n_units)
    total = np.bincount(units, minlength=n_units).astype(np.float64)
    return np.stack([total - true, true], axis=1)


def nominal_alpha(counts: np.ndarray) -> float | None:
    """Nominal Krippendorff's alpha of a units × values count matrix, or None when undefined
    (the same rules as `metrics.krippendorff_alpha`: no unit with two or more answers, or a
    single value among those units)."""
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0 or (pairable.sum(axis=0) > 0).sum() < 2:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        value = krippendorff.alpha(
            value_counts=pairable,
            value_domain=list(range(counts.shape[1])),
            level_of_measurement="nominal",
        )
    return None if value is None or math.isnan(value) else float(value)


def raw_agreement(counts: np.ndarray) -> float | None:
    """Mean over units with two or more answers of the share of answer pairs that agree."""
    n = counts.sum(axis=1)
    keep = n >= 2
    if not keep.any():
        return None
    n, kept = n[keep], counts[keep]
    shares = (kept * (kept - 1)).sum(axis=1) / (n * (n - 1))
    return float(shares.sum() / len(shares))


def majority_agreement(
    units: np.ndarray, annotators: np.ndarray, values: np.ndarray, n_units: int, n_annotators: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per annotator (an index below `n_annotators`): agreements with, and comparisons
    against, the majority of the *other* answers of the same unit.

    A unit counts only with at least two other answers and no tie among them, as in
    `metrics.majority_agreement`.
    """
    v = values.astype(np.int64)
    n = np.bincount(units, minlength=n_units)[units]
    others_true = np.bincount(units, weights=v, minlength=n_units)[units] - v
    others_false = n - 1 - others_true
    counted = (n >= 3) & (others_true != others_false)
    agrees = (others_true > others_false) == values.astype(bool)
    comparisons = np.bincount(annotators[counted], minlength=n_annotators)
    hits = np.bincount(annotators[counted & agrees], minlength=n_annotators)
    return hits, comparisons


def group_median(groups: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """Median of `values` per group index (NaN for an empty group); the mean of the two
    middle values for an even count, like `statistics.median`."""
    order = np.lexsort((values, groups))
    ordered = values[order].astype(np.float64)
    counts = np.bincount(groups, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    result = np.full(n_groups, np.nan)
    present = counts > 0
    low = starts[present] + (counts[present] - 1) // 2
    high = starts[present] + counts[present] // 2
    result[present] = (ordered[low] + ordered[high]) / 2
    return result
