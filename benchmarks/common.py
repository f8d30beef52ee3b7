"""Shared plumbing of the quality benchmarks (`imputation.py`, `classification.py`).

- `limit_threads`: one torch thread and one BLAS thread (on a busy 2-core box, two spinning
  threads made an iteration up to 100x slower; see README, "Measured").
- `seed_everything`: `random`, numpy and torch from one seed, in one visible block.
- `Stopwatch`: wall-clock seconds of a block.
- `wilcoxon_rank_sum` and `cohens_d`: the tests of the supplement, section 3.5.
- `mean_std`, `markdown_table`: mean ± std over seeds with 4 decimals, best per column in bold.
- `run_header`, `header_markdown`: the command, machine, device, versions and date of a run.
- `dump_json`: JSON with NaN and infinities written as null.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "benchmarks" / "results"


# --- threads and seeds -------------------------------------------------------------------------


def limit_threads() -> None:
    """One torch thread and one BLAS/OpenMP thread for the rest of the process."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(limits=1)  # not used as a context manager: holds until the process ends


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, numpy's global generator and torch (CPU and CUDA) with `seed`."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


class Stopwatch:
    """Wall-clock seconds of a `with` block: `with Stopwatch() as watch: ...; watch.seconds`."""

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


# --- statistics --------------------------------------------------------------------------------


def _sample(values: Iterable[float], name: str) -> np.ndarray:
    array = np.asarray(list(values), dtype=np.float64)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers. Got {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers only. Got {array.tolist()}.")
    return array


def wilcoxon_rank_sum(a: Iterable[float], b: Iterable[float]) -> float:
    """Two-sided p-value of the Wilcoxon rank-sum test of samples `a` and `b`.

    `scipy.stats.ranksums`: the normal approximation of the rank-sum statistic, without a
    continuity or tie correction. With 5 values each, complete separation gives p = 0.0090, the
    smallest value reachable.
    """
    return float(scipy.stats.ranksums(_sample(a, "a"), _sample(b, "b")).pvalue)


def cohens_d(a: Iterable[float], b: Iterable[float]) -> float:
    """Cohen's d = (mean(a) - mean(b)) / pooled standard deviation.

    Pooled SD = sqrt(((n_a - 1) s_a^2 + (n_b - 1) s_b^2) / (n_a + n_b - 2)), s the sample SD
    (ddof = 1). Negative when `a` is smaller. Needs at least 3 values in all. With a pooled SD
    of 0 it is 0 for equal means and +-inf otherwise.
    """
    a, b = _sample(a, "a"), _sample(b, "b")
    if a.size + b.size < 3:
        raise ValueError(f"cohens_d needs at least 3 values in all. Got {a.size} and {b.size}.")
    ss = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
    pooled = math.sqrt(ss / (a.size + b.size - 2))
    diff = float(a.mean() - b.mean())
    if pooled == 0.0:
        return 0.0 if diff == 0.0 else math.copysign(math.inf, diff)
    return diff / pooled


def mean_std(values: Iterable[float | None]) -> tuple[float, float | None, int]:
    """(mean, sample SD with ddof = 1 or None for a single value, n) of the non-None values."""
    kept = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not kept:
        return math.nan, None, 0
    array = np.asarray(kept)
    std = float(array.std(ddof=1)) if array.size > 1 else None
    return float(array.mean()), std, int(array.size)


# --- tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A table column: its title, the key of its cells and which mean is best ("min"/"max")."""

    title: str
    key: str
    best: str | None = None
    digits: int = 4


def _format_cell(value: Any, digits: int) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        mean, std, n = mean_std(value)
        if n == 0:
            return "–"
        text = f"{mean:.{digits}f}"
        return text if std is None else f"{text} ± {std:.{digits}f}"
    value = float(value)
    if math.isnan(value):
        return "–"
    return f"{value:.{digits}f}"


def _mean_of(value: Any) -> float:
    if isinstance(value, (list, tuple)):
        return mean_std(value)[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return math.nan


def markdown_table(columns: Sequence[Column], rows: Sequence[dict[str, Any]]) -> str:
    """A markdown table; a cell is a string, a number or a list of per-seed values.

    Lists are written "mean ± std" (sample SD; the mean alone for one value). In a column with
    `best`, the cells whose mean is the column's lowest ("min") or highest ("max") are bold
    (every tied cell, compared at the printed precision).
    """
    best_text: dict[str, set[str]] = {}
    for column in columns:
        if column.best not in (None, "min", "max"):
            raise ValueError(f"Column.best must be None, 'min' or 'max'. Got {column.best!r}.")
        if column.best is None:
            continue
        means = [_mean_of(row.get(column.key)) for row in rows]
        finite = [m for m in means if math.isfinite(m)]
        if not finite:
            continue
        target = min(finite) if column.best == "min" else max(finite)
        rounded = f"{target:.{column.digits}f}"
        best_text[column.key] = {
            str(i)
            for i, m in enumerate(means)
            if math.isfinite(m) and f"{m:.{column.digits}f}" == rounded
        }
    lines = [
        "| " + " | ".join(c.title for c in columns) + " |",
        "| " + " | ".join("---" for _ in columns) + " |",
    ]
    for i, row in enumerate(rows):
        cells = []
        for column in columns:
            text = _format_cell(row.get(column.key), column.digits)
            if str(i) in best_text.get(column.key, set()):
                text = f"**{text}**"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# --- provenance --------------------------------------------------------------------------------


def _git(*args: str) -> str | None:
    """Output of a read-only git command in the repository, or None without git."""
    try:
        out = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def run_header(
    *, device: str, seeds: Sequence[int], iterations: Any, argv: Sequence[str] | None = None
) -> dict[str, Any]:
    """Where, when and how a table was produced: command, machine, device, versions, date."""
    import sklearn
    import torch

    argv = list(sys.argv if argv is None else argv)
    script = Path(argv[0])
    if script.is_absolute() and script.is_relative_to(REPO):
        script = script.relative_to(REPO)
    status = _git("status", "--porcelain")
    return {
        "command": " ".join(shlex.quote(a) for a in ["python", str(script), *argv[1:]]),
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "device": device,
        "torch_threads": torch.get_num_threads(),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
            "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__,
        },
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "seeds": list(seeds),
        "iterations": iterations,
    }


def header_markdown(header: dict[str, Any]) -> str:
    """The header as a markdown bullet list."""
    machine = header["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in header["versions"].items())
    commit = header.get("git_commit") or "unknown"
    if header.get("git_dirty"):
        commit += " (with uncommitted changes in the tree)"
    load = machine.get("load_average_at_start")
    load_text = "" if not load else f"; load average at start {load[0]:.2f}"
    lines = [
        f"- command: `{header['command']}`",
        f"- machine: {machine['platform']}, {machine['processor']}, "
        f"{machine['cores']} cores{load_text}",
        f"- device: {header['device']}, {header['torch_threads']} torch thread(s), 1 BLAS thread",
        f"- versions: {versions}",
        f"- commit: {commit}",
        f"- date (UTC): {header['date']}",
        f"- seeds: {', '.join(str(s) for s in header['seeds'])}",
        f"- HexaGAN iterations: {_describe(header['iterations'])}",
    ]
    lines += [f"- note: {note}" for note in header.get("notes", [])]
    if "finished" in header:
        lines.append(f"- finished (UTC): {header['finished']}; wall time {header['wall_s']:.0f} s")
    return "\n".join(lines)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return _json_safe(value.tolist())
    return value


def dump_json(path: str | Path, payload: Any) -> Path:
    """Write `payload` as indented JSON (NaN and infinities as null), atomically; the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(_json_safe(payload), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def finish_header(header: dict[str, Any], started: float) -> None:
    """Add the finishing date and the wall time since `started` (time.perf_counter())."""
    header["finished"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    header["wall_s"] = time.perf_counter() - started


# --- the grid of datasets and seeds ------------------------------------------------------------


def parse_iterations(
    entries: Sequence[str], datasets: Sequence[str], known: Sequence[str]
) -> dict[str, int | None]:
    """{dataset: iterations or None (the preset's)} from 'N' (every dataset) and 'NAME=N'."""
    default: int | None = None
    per_dataset: dict[str, int] = {}
    for entry in entries:
        name, _, value = entry.rpartition("=")
        if not value.isdigit() or int(value) < 1 or (name and name not in known):
            raise SystemExit(f"--iterations: expected N or NAME=N (N >= 1), got {entry!r}")
        if name:
            per_dataset[name] = int(value)
        else:
            default = int(value)
    return {d: per_dataset.get(d, default) for d in datasets}


def check_available(dataset: str, max_rows: int | None) -> str | None:
    """None if the built-in `dataset` loads, else why not (credit offline without a copy)."""
    from hexagan_core.data import DataError, load_builtin

    try:
        load_builtin(dataset, max_rows=max_rows, seed=0)
    except DataError as error:
        return str(error)
    return None


def load_previous(path: Path, resume: bool) -> list[dict[str, Any]]:
    """The finished runs stored in `path` when resuming, else none."""
    if not resume or not path.exists():
        return []
    return json.loads(path.read_text("utf-8")).get("runs", [])


def run_grid(
    datasets: Sequence[str],
    seeds: Sequence[int],
    *,
    max_rows: int | None,
    plan: Callable[[str], dict[str, Any]],
    run: Callable[[str, int], dict[str, Any]],
    previous: Sequence[dict[str, Any]],
    on_update: Callable[[list[dict[str, Any]], dict[str, str], dict[str, Any] | None], None],
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Run every (dataset, seed); reuse a previous run with the same plan; report as it goes.

    `run(dataset, seed)` returns a dict with "dataset", "seed" and "plan" (= `plan(dataset)`).
    A dataset that cannot be loaded is skipped with the reason. `on_update(runs, skipped, last)`
    is called after every run (`last` carries "resumed": True when it was reused) and skip.
    """
    runs: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for dataset in datasets:
        reason = check_available(dataset, max_rows)
        if reason is not None:
            skipped[dataset] = reason
            on_update(runs, skipped, None)
            continue
        for seed in seeds:
            done = [
                r
                for r in previous
                if r["dataset"] == dataset and r["seed"] == seed and r.get("plan") == plan(dataset)
            ]
            result = dict(done[0], resumed=True) if done else run(dataset, seed)
            runs.append(result)
            on_update(runs, skipped, result)
    return runs, skipped


def rerender(path: Path, write: Callable[[dict[str, Any], list, dict[str, str]], None]) -> None:
    """Rewrite a table from its stored JSON (header, runs, skipped) without running anything."""
    stored = json.loads(Path(path).read_text("utf-8"))
    write(stored["header"], stored["runs"], stored.get("skipped", {}))


def run_table(
    args: Any,
    header: dict[str, Any],
    started: float,
    *,
    plan: Callable[[str], Any],
    run: Callable[[str, int], dict[str, Any]],
    describe: Callable[[dict[str, Any]], str],
    write: Callable[[Any, dict[str, Any], list, dict[str, str]], None],
) -> int:
    """Run every (dataset, seed) of a table, printing `describe(run)` and rewriting the files
    after each one, so an interrupted table keeps what it finished."""

    def report(runs: list[dict], skipped: dict[str, str], last: dict | None) -> None:
        if last is None:
            dataset, reason = list(skipped.items())[-1]
            print(f"{dataset}: skipped ({reason})", flush=True)
        else:
            resumed = " (resumed)" if last.get("resumed") else ""
            print(
                f"{last['dataset']} seed {last['seed']}: {describe(last)}; "
                f"{last['wall_s']:.0f} s{resumed}",
                flush=True,
            )
        write(args, header, runs, skipped)

    runs, skipped = run_grid(
        args.datasets,
        args.seeds,
        max_rows=args.max_rows,
        plan=plan,
        run=run,
        previous=load_previous(args.out / f"{args.name}.json", args.resume),
        on_update=report,
    )
    header["resumed_runs"] = sum(1 for r in runs if r.get("resumed"))
    finish_header(header, started)
    write(args, header, runs, skipped)
    print(f"wrote {args.out / args.name}.json and .md in {header['wall_s']:.0f} s")
    return 0
