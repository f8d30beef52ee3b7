"""The missing-rate study: imputation RMSE of HexaGAN and the baselines against the missing rate.

A teaching demo. For every seed and every missing rate, `run_study` prepares the data exactly as
the command line does (`protocol.prepare`: split, hide, encode, scale), trains HexaGAN (selected
on the validation RMSE) and each baseline on the training rows, and scores every method with
`metrics.rmse` on the artificially removed entries of the test rows. Seeds are the outer loop,
so a stopped study still has a whole curve as soon as the first seed is done; within a seed,
HexaGAN's models for all the rates train together as one batched program
(`experiment.fit_runs`).

The default `StudyOptions` (breast; 4 rates x 2 seeds x 5 methods = 40 runs, HexaGAN 250 and
GAIN 500 iterations) were tuned to take about a minute on the CPU: measured 58.5 s on two cores
shared with other work (load average 4: HexaGAN 36 s, GAIN 15 s, MICE 7 s) and 76 s under a
heavier load (5).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from hexagan_core import metrics
from hexagan_core.baselines import IMPUTERS, make_imputer
from hexagan_core.config import preset
from hexagan_core.control import RunControl
from hexagan_core.experiment import fit_runs, load_dataset
from hexagan_core.masks import MECHANISMS
from hexagan_core.model import resolve_device
from hexagan_core.protocol import Experiment, prepare
from hexagan_core.validation import Interval, check_param, describe, parameter_error

__all__ = [
    "METHODS",
    "StudyOptions",
    "StudyResult",
    "plain_language_explanation",
    "run_study",
    "study_total_runs",
]

METHODS: tuple[str, ...] = ("hexagan", *IMPUTERS)
"""Every method a study can compare: HexaGAN and each baseline imputer."""

ROW_COLUMNS: tuple[str, ...] = ("rate", "seed", "method", "rmse", "seconds")
SUMMARY_COLUMNS: tuple[str, ...] = ("rate", "method", "mean", "std", "n")

RowCallback = Callable[[dict[str, Any]], None]


@dataclass
class StudyOptions:
    """What to sweep. Checked by `validate` (called by `run_study`), never by the constructor."""

    data: str = "breast"
    """A built-in dataset name or a CSV path."""
    label: str | None = None
    """The label column of a CSV file (built-in datasets have their own)."""
    rates: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
    """Missing rates to hide, each in (0, 1)."""
    methods: tuple[str, ...] = ("hexagan", "gain", "mice", "knn", "mean")
    """Methods to compare, from METHODS."""
    seeds: tuple[int, ...] = (0, 1)
    """One run of every method per (rate, seed); the summary averages over seeds."""
    mechanism: str = "mcar"
    """How entries are hidden: 'mcar', 'mar' or 'mnar'."""
    iterations: int = 250
    """HexaGAN's training iterations per run (the 'default' preset otherwise)."""
    gain_iterations: int = 500
    """GAIN's training iterations per run."""
    device: str = "auto"
    """Device of HexaGAN and GAIN: 'auto', 'cpu', 'cuda' or 'mps'."""
    max_rows: int | None = 2000
    """Subsample larger datasets to this many rows once (seed 0), or None for all rows."""

    def validate(self) -> StudyOptions:
        """Return self, or raise ValueError naming the first bad parameter and its value."""
        rates, seeds = Interval("float", 0, 1, closed="neither"), Interval("int", 0)
        _check_sequence(self.rates, "rates", rates.accepts, "floats in the range (0, 1)")
        _check_sequence(self.methods, "methods", METHODS.__contains__, describe(METHODS))
        _check_sequence(self.seeds, "seeds", seeds.accepts, "ints in the range [0, inf)")
        check_param(self.mechanism, "mechanism", "StudyOptions", MECHANISMS)
        for name in ("iterations", "gain_iterations"):
            check_param(getattr(self, name), name, "StudyOptions", Interval("int", 1))
        max_rows = Interval("int", 10, allow_none=True)
        check_param(self.max_rows, "max_rows", "StudyOptions", max_rows)
        if not isinstance(self.data, str) or not self.data.strip():
            allowed = "a built-in dataset name or a CSV path"
            raise parameter_error("data", "StudyOptions", allowed, self.data)
        resolve_device(self.device)  # raises ValueError naming an unknown or unavailable device
        return self


def _check_sequence(values: Any, name: str, accepts: Callable[[Any], bool], what: str) -> None:
    """A non-empty sequence of distinct accepted values (one bad value is named)."""
    if isinstance(values, str) or not isinstance(values, (tuple, list)) or not values:
        raise parameter_error(name, "StudyOptions", f"a non-empty tuple of {what}", values)
    for value in values:
        if not accepts(value):
            raise ValueError(
                f"The '{name}' parameter of StudyOptions must hold {what}. "
                f"Got {value!r} in {tuple(values)!r} instead."
            )
    if len(set(values)) != len(values):
        raise parameter_error(name, "StudyOptions", f"a tuple of distinct {what}", values)


@dataclass
class StudyResult:
    """The finished runs of a study: one row per (rate, seed, method)."""

    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(ROW_COLUMNS)))
    """Columns rate, seed, method, rmse (test RMSE in min-max space), seconds (fit + impute)."""
    stopped: bool = False
    """True when the study was stopped before every run finished."""

    def summary(self) -> pd.DataFrame:
        """Per (rate, method): the mean and sample std (NaN for one seed) of the RMSE, and n.

        Sorted by rate, then methods in the order they first appear in `rows`.
        """
        if self.rows.empty:
            return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
        rows = self.rows.astype({"rate": float, "rmse": float})
        order = list(dict.fromkeys(rows["method"]))
        grouped = rows.groupby(["rate", "method"], sort=False)["rmse"]
        out = grouped.agg(mean="mean", std="std", n="count").reset_index()
        out["_order"] = out["method"].map(order.index)
        out = out.sort_values(["rate", "_order"], kind="stable").drop(columns="_order")
        return out.reset_index(drop=True)[list(SUMMARY_COLUMNS)]


def study_total_runs(options: StudyOptions) -> int:
    """How many (rate, seed, method) runs `run_study(options)` makes."""
    options.validate()
    return len(options.rates) * len(options.seeds) * len(options.methods)


def run_study(
    options: StudyOptions,
    *,
    callback: RowCallback | None = None,
    control: RunControl | None = None,
) -> StudyResult:
    """Run every (seed, rate, method) of `options`; see the module docstring for the protocol.

    `callback(row)` receives each finished run's row (the keys of ROW_COLUMNS). After
    `control.stop()` the study ends at the next run boundary (a HexaGAN run in progress stops
    within one iteration and is not scored) and returns the rows it has, with `stopped=True`.
    While `control` is paused the study waits (HexaGAN inside its training loop).
    """
    options.validate()
    control = control or RunControl()
    dataset = load_dataset(options.data, options.label, options.max_rows, seed=0)
    rows: list[dict[str, Any]] = []

    def add(row: dict[str, Any]) -> None:
        rows.append(row)
        if callback is not None:
            callback(dict(row))

    stopped = False
    with _one_cpu_thread(options.device):
        for seed in options.seeds:
            experiments = [
                prepare(dataset, missing_rate=rate, mechanism=options.mechanism, seed=seed)
                for rate in options.rates
            ]
            if "hexagan" in options.methods:
                hexagan_rows = _hexagan_rows(experiments, options, seed, control)
                if hexagan_rows is None:  # stopped mid-training: not a fair score
                    stopped = True
                    break
                for row in hexagan_rows:
                    add(row)
            for experiment in experiments:
                for method in (m for m in options.methods if m != "hexagan"):
                    control.wait_while_paused()
                    if control.stopped:
                        stopped = True
                        break
                    add(_baseline_row(method, experiment, options, seed))
                if stopped:
                    break
            if stopped:
                break
    return StudyResult(rows=pd.DataFrame(rows, columns=list(ROW_COLUMNS)), stopped=stopped)


def _row(experiment: Experiment, seed: int, method: str, imputed: np.ndarray, seconds: float):
    test = experiment.test
    return {
        "rate": float(experiment.missing_rate),
        "seed": int(seed),
        "method": method,
        "rmse": metrics.rmse(test.x_true, imputed, test.removed),
        "seconds": seconds,
    }


def _hexagan_rows(
    experiments: list[Experiment],
    options: StudyOptions,
    seed: int,
    control: RunControl,
) -> list[dict[str, Any]] | None:
    """HexaGAN at every rate of one seed, or None if a stop cut training short.

    The rates' models train together when they can (`fit_runs`; always, for a built-in
    dataset). Each row's `seconds` is the model's share of the training time plus its
    imputation of the test rows.
    """
    config = preset("default", iterations=options.iterations, seed=seed)
    models, train_seconds = fit_runs(
        [config] * len(experiments), experiments, device=options.device,
        select_best="val_rmse", control=control,
    )  # fmt: skip
    if control.stopped:
        return None
    rows = []
    for model, experiment, seconds in zip(models, experiments, train_seconds, strict=True):
        start = time.perf_counter()
        imputed = model.impute(experiment.test.x_input, seed=seed)
        seconds += time.perf_counter() - start
        rows.append(_row(experiment, seed, "hexagan", imputed, seconds))
    return rows


def _baseline_row(method: str, experiment: Experiment, options: StudyOptions, seed: int):
    """Fit baseline `method` on the training rows and score it on the test rows."""
    start = time.perf_counter()
    params = {"iterations": options.gain_iterations} if method == "gain" else {}
    imputer = make_imputer(method, seed=seed, device=options.device, **params)
    imputed = imputer.fit(experiment.train.x_input).transform(experiment.test.x_input)
    return _row(experiment, seed, method, imputed, time.perf_counter() - start)


@contextlib.contextmanager
def _one_cpu_thread(device: str) -> Iterator[None]:
    """One torch and one BLAS/OpenMP thread for the whole study on the CPU.

    The study's networks and matrices are small; spinning threads on busy cores make them many
    times slower (see `train._cpu_threads`). Setting torch once around the whole study, not per
    run, also means a nested fit restores 1, not a larger count, when it ends.
    """
    if resolve_device(device).type != "cpu":
        with threadpool_limits(limits=1):
            yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(previous)


# --- the teacher's paragraph ----------------------------------------------------------------

_NAMES = {
    "hexagan": "HexaGAN",
    "gain": "GAIN",
    "mice": "MICE",
    "knn": "k-nearest neighbours",
    "mean": "mean imputation",
    "zero": "zero filling",
    "missforest": "MissForest",
}


def _name(method: str) -> str:
    return _NAMES.get(method, method)


def _percent(rate: float) -> str:
    return f"{100 * rate:.0f}%"


def plain_language_explanation(summary: pd.DataFrame) -> str:
    """Three to five sentences a teacher can read aloud, written from `summary`'s numbers.

    `summary` is `StudyResult.summary()` (columns rate, method, mean, std, n). Every claim is
    computed: the best method at the lowest and highest rate, how the error grows, where
    HexaGAN ranks and how many methods beat mean imputation.
    """
    missing = set(SUMMARY_COLUMNS) - set(summary.columns)
    if missing:
        raise ValueError(
            f"summary must have the columns {', '.join(SUMMARY_COLUMNS)}; "
            f"{', '.join(sorted(missing))} missing."
        )
    if summary.empty:
        return "No run has finished yet, so there is nothing to explain."
    table = summary.pivot_table(index="rate", columns="method", values="mean")
    low, high = float(table.index.min()), float(table.index.max())
    at_low, at_high = table.loc[low].dropna(), table.loc[high].dropna()
    best_low, best_high = at_low.idxmin(), at_high.idxmin()
    sentences = []

    # (1) Who wins where.
    if low == high:
        sentences.append(
            f"At a missing rate of {_percent(low)}, {_name(best_low)} fills the hidden entries "
            f"best, with a root-mean-square error (RMSE) of {at_low[best_low]:.3f} on a 0-1 scale."
        )
    else:
        same = best_low == best_high
        sentences.append(
            f"With {_percent(low)} of the entries hidden, {_name(best_low)} fills them in best "
            f"(RMSE {at_low[best_low]:.3f} on a 0-1 scale); with {_percent(high)} hidden, "
            + (
                f"{_name(best_high)} is still best (RMSE {at_high[best_high]:.3f})."
                if same
                else f"{_name(best_high)} takes over (RMSE {at_high[best_high]:.3f})."
            )
        )

    # (2) How fast the error grows, over the methods scored at both ends.
    both = [m for m in table.columns if m in at_low.index and m in at_high.index]
    if low != high and both:
        start, end = float(at_low[both].mean()), float(at_high[both].mean())
        change = (end - start) / start * 100 if start > 0 else float("nan")
        direction = "grows" if end > start else "shrinks"
        steps = (high - low) * 10
        sentences.append(
            f"Averaged over the methods, the error {direction} from {start:.3f} to {end:.3f} "
            f"({change:+.0f}%) as the missing rate goes from {_percent(low)} to {_percent(high)}, "
            f"about {abs(end - start) / steps:.3f} per 10 points of missing rate."
        )

    # (3) Where HexaGAN stands.
    if "hexagan" in table.columns:
        ranks = []
        for rate, scores in ((low, at_low), (high, at_high)):
            if "hexagan" in scores.index:
                rank = int((scores < scores["hexagan"]).sum()) + 1
                ranks.append(f"{_ordinal(rank)} of {len(scores)} at {_percent(rate)}")
        if ranks:
            sentences.append(
                "HexaGAN ranks " + " and ".join(dict.fromkeys(ranks)) + " (lower RMSE is better)."
            )

    # (4) The yardstick: mean imputation ignores every other column.
    if "mean" in table.columns and len(table.columns) > 1:
        others = [m for m in table.columns if m != "mean"]
        wins = (table[others].lt(table["mean"], axis=0)).all(axis=0)
        winners = [_name(m) for m in others if wins[m]]
        if winners:
            sentences.append(
                f"{len(winners)} of {len(others)} methods beat mean imputation, which ignores the "
                f"other columns, at every rate: {', '.join(winners)}."
            )
        else:
            sentences.append(
                "No method beats mean imputation, which ignores the other columns, at every rate."
            )

    # (5) How much of the difference is noise.
    spread = summary["std"].dropna()
    if len(spread) and int(summary["n"].min()) > 1:
        sentences.append(
            f"Each point averages {int(summary['n'].min())} or more seeds; differences smaller "
            f"than the typical spread between seeds ({float(spread.median()):.3f}) may be chance."
        )
    return " ".join(sentences)


def _ordinal(rank: int) -> str:
    suffix = "th" if 10 <= rank % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(rank % 10, "th")
    return f"{rank}{suffix}"
