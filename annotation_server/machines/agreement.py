"""How each machine annotator version agrees with our workers' majority (no Django): per field
(harmful, each category) Cohen's κ, precision, recall and F1 with bootstrap intervals, the
confusion counts, and the items where the machine and the majority disagree.

The human majority is the reference (the machine is measured against it): precision is the
share of the machine's "yes" the majority also says, recall the share of the majority's "yes"
the machine finds, support the items the majority says yes to. The majority comes from every
kept answer (gold items included), as on the classification page; items where the workers
tie or did not answer the field are left out of that field. Unparseable verdicts (neither
`harmful` nor `categories` decided) are counted apart and left out of every figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from annotation_server.quality.classification_columns import LabelColumns, Verdicts
from annotation_server.quality.classification_stats import (
    FieldComparison,
    binary_comparison,
    field_counts,
    majority,
    unit_index,
)

SEED = 20_250  # fixed: the same confusion always gives the same interval
RESAMPLES = 2000
LEVEL = 0.95
SCORES = ("kappa", "precision", "recall", "f1")


@dataclass(frozen=True)
class MachineColumns:
    """One entry per machine verdict of the batch."""

    verdict_id: np.ndarray  # int64: the ExternalAnnotation's id
    pair_id: np.ndarray  # int64
    version: np.ndarray  # int64 index into `versions`
    versions: tuple[tuple[str, str], ...]  # (source, source_annotator), sorted
    verdicts: Verdicts
    unparseable: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.verdict_id)


def machine_columns(
    *,
    verdict_id: Sequence[int],
    pair_id: Sequence[int],
    source: Sequence[str],
    label: Sequence[str],
    verdicts: Verdicts,
) -> MachineColumns:
    keys = sorted(set(zip(source, label, strict=True)))
    index = {key: i for i, key in enumerate(keys)}
    version = np.fromiter(
        (index[key] for key in zip(source, label, strict=True)), dtype=np.int64, count=len(source)
    )
    return MachineColumns(
        verdict_id=np.asarray(verdict_id, dtype=np.int64).reshape(-1),
        pair_id=np.asarray(pair_id, dtype=np.int64).reshape(-1),
        version=version,
        versions=tuple(keys),
        verdicts=verdicts,
        unparseable=~verdicts.known.any(axis=1),
    )


@dataclass(frozen=True)
class FieldScore:
    comparison: FieldComparison
    intervals: dict[str, tuple[float, float] | None]  # score → (low, high) at LEVEL


@dataclass(frozen=True)
class FieldDisagreement:
    field: str
    machine: bool
    yes: int  # workers' answers to the field
    no: int

    @property
    def against(self) -> float:
        """Share of the workers who answered the field that contradict the machine."""
        return (self.no if self.machine else self.yes) / (self.yes + self.no)


@dataclass(frozen=True)
class Disagreement:
    verdict_id: int
    pair_id: int
    harmful: bool | None  # the machine's answer (None: not decided)
    categories: tuple[str, ...] | None
    harmful_yes: int  # the workers' answers to `harmful`
    harmful_no: int
    fields: list[FieldDisagreement]  # the fields where machine and majority differ

    @property
    def against(self) -> float:
        return max(f.against for f in self.fields)

    @property
    def workers(self) -> int:
        return max(f.yes + f.no for f in self.fields)


@dataclass(frozen=True)
class VersionAgreement:
    source: str
    label: str  # source_annotator, "v<version>" for a machine annotator's own runs
    verdicts: int
    unparseable: int
    fields: list[FieldScore]  # harmful first, then the categories
    disagreements: list[Disagreement]  # most confident majority first

    @property
    def labelled(self) -> int:
        return self.verdicts - self.unparseable


def version_agreements(answers: LabelColumns, machine: MachineColumns) -> list[VersionAgreement]:
    """Every machine version against our workers' majority on the items it labelled."""
    kept = ~answers.rejected
    n_kept = int(kept.sum())
    items, units = unit_index(np.concatenate([answers.pair_id[kept], machine.pair_id]))
    counts = field_counts(
        units[:n_kept],
        Verdicts(answers.verdicts.keys, answers.verdicts.value[kept], answers.verdicts.known[kept]),
        len(items),
    )  # (fields, items, [no, yes])
    ours = majority(counts)
    their_units = units[n_kept:]
    fields = answers.verdicts.fields
    result = []
    for v, (source, label) in enumerate(machine.versions):
        mine = np.flatnonzero(machine.version == v)
        unparseable = int(machine.unparseable[mine].sum())
        mine = mine[~machine.unparseable[mine]]
        # The machine's value per field of the items it labelled: 1, 0, or -1 not decided.
        value = np.where(machine.verdicts.known[mine], machine.verdicts.value[mine], -1).T
        human = ours[:, their_units[mine]]
        both = (human >= 0) & (value >= 0)
        scores = []
        for f, field in enumerate(fields):
            b, m, h = both[f], value[f] == 1, human[f] == 1
            cells = tuple(int(x.sum()) for x in (b & m & h, b & m & ~h, b & ~m & h, b & ~m & ~h))
            scores.append(
                FieldScore(
                    comparison=binary_comparison(field, *cells),
                    intervals=bootstrap_intervals(*cells),
                )
            )
        result.append(
            VersionAgreement(
                source=source,
                label=label,
                verdicts=len(mine) + unparseable,
                unparseable=unparseable,
                fields=scores,
                disagreements=_disagreements(
                    machine, mine, value, both & (value != human), counts, their_units, fields
                ),
            )
        )
    return result


def _disagreements(machine, mine, value, differ, counts, their_units, fields) -> list[Disagreement]:
    rows = []
    for column in np.flatnonzero(differ.any(axis=0)):
        entry = mine[column]
        unit = their_units[entry]
        known, said = machine.verdicts.known[entry], machine.verdicts.value[entry]
        keys = machine.verdicts.keys
        rows.append(
            Disagreement(
                verdict_id=int(machine.verdict_id[entry]),
                pair_id=int(machine.pair_id[entry]),
                harmful=bool(said[0]) if known[0] else None,
                categories=(
                    tuple(k for i, k in enumerate(keys) if said[1 + i])
                    if known[1:].all() and keys
                    else None
                ),
                harmful_yes=int(counts[0, unit, 1]),
                harmful_no=int(counts[0, unit, 0]),
                fields=[
                    FieldDisagreement(
                        field=fields[f],
                        machine=bool(value[f, column]),
                        yes=int(counts[f, unit, 1]),
                        no=int(counts[f, unit, 0]),
                    )
                    for f in np.flatnonzero(differ[:, column])
                ],
            )
        )
    # Most confident majority first; then more workers, more fields wrong, a stable order.
    rows.sort(key=lambda d: (-d.against, -d.workers, -len(d.fields), d.pair_id))
    return rows


def bootstrap_intervals(
    tp: int, fp: int, fn: int, tn: int, *, resamples: int = RESAMPLES, level: float = LEVEL
) -> dict[str, tuple[float, float] | None]:
    """Percentile bootstrap intervals of κ, precision, recall and F1, resampling the compared
    items with replacement. Every score depends on the items only through the confusion, so a
    resample's confusion is drawn directly: resampling n items is a multinomial draw of n
    over the four cells (same distribution, O(resamples) whatever n). A score undefined in
    some resamples (no "yes" drawn) is taken over the others; None where always undefined."""
    n = tp + fp + fn + tn
    if n == 0:
        return dict.fromkeys(SCORES)
    rng = np.random.default_rng([SEED, tp, fp, fn, tn])
    draws = rng.multinomial(n, np.array([tp, fp, fn, tn]) / n, size=resamples).astype(float)
    values = confusion_scores(*draws.T)
    tail = (1 - level) / 2 * 100
    intervals = {}
    for name in SCORES:
        defined = values[name][~np.isnan(values[name])]
        if len(defined) == 0:
            intervals[name] = None
        else:
            low, high = np.percentile(defined, [tail, 100 - tail])
            intervals[name] = (float(low), float(high))
    return intervals


def confusion_scores(tp, fp, fn, tn) -> dict[str, np.ndarray]:
    """κ, precision, recall, F1 of arrays of confusions (NaN where undefined), the
    definitions of `classification_stats.binary_comparison`."""
    tp, fp, fn, tn = (np.asarray(x, dtype=float) for x in (tp, fp, fn, tn))
    n = tp + fp + fn + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = (tp + tn) / n
        expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / n**2
        kappa = np.where(expected < 1, (observed - expected) / (1 - expected), np.nan)
        return {
            "kappa": kappa,
            "precision": np.where(tp + fp > 0, tp / (tp + fp), np.nan),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
        }
