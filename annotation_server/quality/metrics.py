"""Agreement and generator-comparison metrics: plain data in, plain data out (no Django).

- Krippendorff's alpha comes from the maintained `krippendorff` package (nominal level).
- Bradley–Terry strengths are fitted by damped Newton steps in numpy: a dozen lines,
  deterministic, vectorised over bootstrap samples, and no SciPy dependency (the `choix`
  package needs SciPy and has had no release since 2022), with a weak "ghost opponent" prior
  so a model that never wins keeps a finite score.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np

# A unit (one pair, or one pair × video for harms) → the values its annotators gave.
Units = Iterable[Sequence[Hashable]]


def _value_counts(units: Units) -> tuple[np.ndarray, list[Hashable]]:
    counters = [Counter(values) for values in units]
    domain = sorted({v for c in counters for v in c}, key=repr)
    matrix = np.array([[c.get(v, 0) for v in domain] for c in counters], dtype=float)
    return matrix.reshape(len(counters), len(domain)), domain


def krippendorff_alpha(units: Units) -> float | None:
    """Nominal Krippendorff's alpha over units, or None when it is undefined.

    Alpha is undefined when fewer than two distinct values occur (no disagreement is
    possible, expected disagreement is 0) or no unit has two or more values.
    """
    counts, domain = _value_counts(units)
    if len(domain) < 2 or not (counts.sum(axis=1) >= 2).any():
        return None
    pairable = counts[counts.sum(axis=1) >= 2]
    if (pairable > 0).sum(axis=0).astype(bool).sum() < 2:
        # Only one value among the pairable units: expected disagreement is zero.
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        value = krippendorff.alpha(
            value_counts=pairable,
            value_domain=list(range(len(domain))),
            level_of_measurement="nominal",
        )
    return None if value is None or math.isnan(value) else float(value)


def raw_agreement(units: Units) -> float | None:
    """Mean over units (with ≥ 2 values) of the share of annotator pairs that agree."""
    shares = []
    for values in units:
        n = len(values)
        if n < 2:
            continue
        agreeing = sum(c * (c - 1) for c in Counter(values).values())
        shares.append(agreeing / (n * (n - 1)))
    return sum(shares) / len(shares) if shares else None


def majority_agreement(
    answers: Iterable[tuple[Hashable, Hashable, Hashable]],
) -> dict[Hashable, tuple[int, int]]:
    """Per annotator, (agreements, comparisons) with the majority of the *other* annotators.

    `answers` are (unit, annotator, value) triples. A unit counts for an annotator only when
    at least two others answered it and their majority is not tied.
    """
    by_unit: dict[Hashable, list[tuple[Hashable, Hashable]]] = defaultdict(list)
    for unit, annotator, value in answers:
        by_unit[unit].append((annotator, value))
    result: dict[Hashable, list[int]] = defaultdict(lambda: [0, 0])
    for entries in by_unit.values():
        if len(entries) < 3:
            continue
        totals = Counter(value for _, value in entries)
        for annotator, value in entries:
            others = totals.copy()
            others[value] -= 1
            ranked = others.most_common(2)
            if len(ranked) == 2 and ranked[0][1] == ranked[1][1]:
                continue
            result[annotator][1] += 1
            result[annotator][0] += int(ranked[0][0] == value)
    return {annotator: (agree, total) for annotator, (agree, total) in result.items()}


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


# --- generator comparison ---------------------------------------------------------------------

# One judgement: (winner model, loser model).
Comparison = tuple[str, str]


def win_rates(comparisons: Iterable[Comparison]) -> dict[tuple[str, str], tuple[int, int]]:
    """(wins of a over b, judgements between a and b) for every ordered pair of models met."""
    wins: Counter = Counter()
    games: Counter = Counter()
    for winner, loser in comparisons:
        if winner == loser:
            continue
        wins[(winner, loser)] += 1
        games[(winner, loser)] += 1
        games[(loser, winner)] += 1
    return {key: (wins[key], total) for key, total in games.items()}


def _win_matrix(comparisons: Sequence[Comparison], names: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(names)}
    wins = np.zeros((len(names), len(names)))
    for winner, loser in comparisons:
        if winner != loser:
            wins[index[winner], index[loser]] += 1
    return wins


def _bt_fit(wins: np.ndarray, *, prior: float, iterations: int, tol: float) -> np.ndarray:
    """Maximise the (prior-penalised) BT likelihood for a stack of win matrices (B, k, k).

    wins[b, i, j] = how often i beat j in data set b; returns centred log-strengths (B, k).
    Damped Newton steps on the concave log-likelihood, vectorised over B so a whole
    bootstrap is fitted at once (Hunter's MM needs thousands of iterations on these data,
    Newton about ten). With prior=0 the pseudo-inverse handles the free overall shift.
    """
    total_wins = wins.sum(axis=2)
    games = wins + wins.transpose(0, 2, 1)
    theta = np.zeros(total_wins.shape)
    eye = np.eye(theta.shape[1])
    for _ in range(iterations):
        s = 1 / (1 + np.exp(theta[:, None, :] - theta[:, :, None]))  # P(i beats j)
        ghost = 1 / (1 + np.exp(-theta))  # P(i beats the prior's opponent of strength 1)
        gradient = total_wins - (games * s).sum(axis=2) + prior - 2 * prior * ghost
        v = games * s * (1 - s)
        curvature = (v.sum(axis=2) + 2 * prior * ghost * (1 - ghost))[:, :, None] * eye - v
        if prior > 0:
            step = np.linalg.solve(curvature, gradient[:, :, None])[:, :, 0]
        else:
            step = (np.linalg.pinv(curvature) @ gradient[:, :, None])[:, :, 0]
        # Damping: at most one unit of log-strength per step keeps far starts stable.
        size = np.abs(step).max(axis=1, keepdims=True)
        step = step / np.maximum(size, 1.0)
        theta = theta + step
        if size.max() < tol:
            break
    return theta - theta.mean(axis=1, keepdims=True)


def bradley_terry(
    comparisons: Sequence[Comparison],
    models: Sequence[str] | None = None,
    *,
    prior: float = 0.5,
    iterations: int = 100,
    tol: float = 1e-10,
) -> dict[str, float]:
    """Bradley–Terry log-strengths (centred on mean 0), maximum (penalised) likelihood.

    P(i beats j) = p_i / (p_i + p_j), score = log p_i. `prior` adds that many virtual wins and
    losses against an opponent of strength 1 to every model, which keeps models that never
    win (or never lose) finite; prior=0 gives the plain maximum-likelihood fit.
    """
    names = list(models) if models is not None else sorted({m for c in comparisons for m in c})
    if not names:
        return {}
    wins = _win_matrix(comparisons, names)[None]
    scores = _bt_fit(wins, prior=prior, iterations=iterations, tol=tol)[0]
    return {name: float(scores[i]) for i, name in enumerate(names)}


@dataclass(frozen=True)
class BTScore:
    model: str
    score: float
    low: float
    high: float
    judgements: int


def bradley_terry_bootstrap(
    comparisons: Sequence[Comparison],
    *,
    samples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    prior: float = 0.5,
) -> list[BTScore]:
    """Bradley–Terry scores with percentile bootstrap intervals, best model first.

    Resampling N judgements with replacement is a multinomial draw over the (winner, loser)
    cells of the win matrix, so all `samples` data sets are drawn and fitted at once. The
    seed is fixed: the same data gives the same interval on every page load.
    """
    data = [c for c in comparisons if c[0] != c[1]]
    models = sorted({m for c in data for m in c})
    return bradley_terry_bootstrap_wins(
        _win_matrix(data, models),
        models,
        samples=samples,
        confidence=confidence,
        seed=seed,
        prior=prior,
    )


def bradley_terry_bootstrap_wins(
    wins: np.ndarray,
    models: Sequence[str],
    *,
    samples: int = 200,
    confidence: float = 0.95,
    seed: int = 0,
    prior: float = 0.5,
) -> list[BTScore]:
    """`bradley_terry_bootstrap` from the win matrix (wins[i, j]: how often models[i] beat
    models[j]), which the dashboard counts in the database instead of listing judgements."""
    total = int(wins.sum())
    if not models or total == 0:
        return []
    wins = np.asarray(wins, dtype=float)
    point = _bt_fit(wins[None], prior=prior, iterations=100, tol=1e-10)[0]
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, wins.ravel() / total, size=samples)
    fits = _bt_fit(
        draws.reshape(samples, *wins.shape).astype(float), prior=prior, iterations=100, tol=1e-8
    )
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(fits, [tail, 100 - tail], axis=0)
    judged = wins.sum(axis=0) + wins.sum(axis=1)
    result = [
        BTScore(m, float(point[i]), float(low[i]), float(high[i]), int(judged[i]))
        for i, m in enumerate(models)
    ]
    return sorted(result, key=lambda r: -r.score)


def left_share(choices: Iterable[tuple[str, bool]]) -> float | None:
    """Share of choices for the left video: (chosen "video_0"/"video_1", left_is_video_0)."""
    picks = [(chosen == "video_0") == left_is_video_0 for chosen, left_is_video_0 in choices]
    return sum(picks) / len(picks) if picks else None
