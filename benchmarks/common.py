"""Shared plumbing of the quality benchmarks (Tables 1-7: `imputation.py`, `classification.py`,
`missing_rate.py`, `learning_curves.py`, `sensitivity.py`, `mnist.py`, `training_cost.py`).

- `limit_threads`: one torch thread and one BLAS thread (on a busy 2-core box, two spinning
  threads made an iteration up to 100x slower; see README, "Measured").
- `seed_everything`: `random`, numpy and torch from one seed, in one visible block.
- `Stopwatch`: wall-clock seconds of a block.
- `wilcoxon_rank_sum` and `cohens_d`: the tests of the supplement, section 3.5.
- `mean_std`, `markdown_table`: mean ± std over seeds with 4 decimals, best per column in bold.
- `run_header`, `header_markdown`: the command, machine, device, versions and date of a run.
- `dump_json`: JSON with NaN and infinities written as null.
- `run_table` (datasets x seeds) and `run_sweep` (settings x seeds, seed-major): run, print,
  rewrite the files after every run, resume; `base_parser` holds the sweeps' shared options.
- `hexagan_record`, `validation_curve`: HexaGAN's scores, cost (iterations run and selected,
  seconds to the selected iteration) and validation curve from a `RunResult`.
- `score_imputers`: baselines fitted on an experiment's training rows, scored on its test cells.
- `compare`, `bold_row_best`, `summarise_cells`: HexaGAN against a method per seed; tables with
  methods as columns.
- `pyplot`, `save_figure`: matplotlib on the Agg backend, PNGs under benchmarks/results.
"""

from __future__ import annotations

import argparse
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


def start_sweep(args: Any, script: str, argv: list[str] | None) -> tuple[float, dict[str, Any]]:
    """The clock and header of a sweep script's run; exits with the reason (one line) when
    its dataset cannot be loaded. `args` has dataset, max_rows, device, seeds, iterations.

    A missing `args.iterations` is set to the preset's length here, so that every run's plan
    records the length it trained for and `--resume` never mixes runs of different lengths
    after the preset's default changes."""
    from hexagan_core.config import preset

    reason = check_available(args.dataset, args.max_rows)
    if reason is not None:
        raise SystemExit(f"{args.dataset}: {reason}")
    args.iterations = args.iterations or preset("default").iterations
    header = run_header(
        device=args.device,
        seeds=args.seeds,
        iterations=args.iterations,
        argv=None if argv is None else [f"benchmarks/{script}", *argv],
    )
    return time.perf_counter(), header


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


def format_cell(value: Any, digits: int) -> str:
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


def bold_row_best(
    row: dict[str, Any], keys: Sequence[str], best: str = "min", digits: int = 4
) -> dict[str, Any]:
    """A copy of `row` with the cells under `keys` written out, the best mean among them bold.

    For tables whose methods are columns (one row per setting): "best" is compared within the
    row, at the printed precision, every tied cell bold.
    """
    if best not in ("min", "max"):
        raise ValueError(f"best must be 'min' or 'max'. Got {best!r}.")
    means = {k: _mean_of(row.get(k)) for k in keys}
    finite = [m for m in means.values() if math.isfinite(m)]
    out = dict(row)
    target = None if not finite else (min(finite) if best == "min" else max(finite))
    for k in keys:
        text = format_cell(row.get(k), digits)
        tied = target is not None and math.isfinite(means[k])
        if tied and f"{means[k]:.{digits}f}" == f"{target:.{digits}f}":
            text = f"**{text}**"
        out[k] = text
    return out


def compare(
    mine: Sequence[float], other: Sequence[float], *, lower_is_better: bool
) -> dict[str, Any]:
    """HexaGAN's per-seed values against a method's (same seeds, same order).

    {"p_rank_sum", "cohens_d" (None with fewer than 2 seeds), "wins": "k/n" seeds on which
    `mine` is better}.
    """
    enough = len(mine) >= 2 and len(other) >= 2
    better = sum((a < b) if lower_is_better else (a > b) for a, b in zip(mine, other, strict=True))
    return {
        "p_rank_sum": wilcoxon_rank_sum(mine, other) if enough else None,
        "cohens_d": cohens_d(mine, other) if enough else None,
        "wins": f"{better}/{len(mine)}",
    }


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
            text = format_cell(row.get(column.key), column.digits)
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


def write_results(args: Any, payload: dict[str, Any], markdown_text: str) -> None:
    """A script's results: DIR/NAME.json (`payload`) and DIR/NAME.md (`markdown_text`)."""
    dump_json(args.out / f"{args.name}.json", payload)
    (args.out / f"{args.name}.md").write_text(markdown_text, "utf-8")


def finish_header(header: dict[str, Any], started: float) -> None:
    """Add the finishing date and the wall time since `started` (time.perf_counter())."""
    header["finished"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    header["wall_s"] = time.perf_counter() - started


# --- the grid of datasets and seeds ------------------------------------------------------------


def parse_iterations(
    entries: Sequence[str], datasets: Sequence[str], known: Sequence[str],
    preset_name: str = "default",
) -> dict[str, int]:  # fmt: skip
    """{dataset: iterations} from 'N' (every dataset) and 'NAME=N'; the preset's length for the
    rest, resolved here so that stored plans name the length trained."""
    from hexagan_core.config import preset

    default = preset(preset_name).iterations
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


def add_set_option(parser: argparse.ArgumentParser, example: str) -> None:
    """The --set FIELD=VALUE option (HexaGANConfig overrides; read with `parse_overrides`)."""
    parser.add_argument(
        "--set",
        nargs="+",
        default=[],
        metavar="FIELD=VALUE",
        help=f"HexaGANConfig fields to override (e.g. {example})",
    )


def mnist_training_run(
    doc: str, preset_name: str, rows: int, iterations: int, every: int, example: str,
    argv: list[str] | None,
) -> tuple[argparse.Namespace, Any]:
    """The options of the MNIST diagnostics (--preset --rows --iterations --every --seed --set),
    parsed from `argv`, and the config they name; one torch and BLAS thread from then on."""
    from hexagan_core.config import preset

    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--preset", default=preset_name)
    parser.add_argument("--rows", type=int, default=rows)
    parser.add_argument("--iterations", type=int, default=iterations)
    parser.add_argument("--every", type=int, default=every)
    parser.add_argument("--seed", type=int, default=0)
    add_set_option(parser, example)
    args = parser.parse_args(argv)
    config = preset(args.preset, seed=args.seed, **parse_overrides(args.set, parser))
    limit_threads()
    return args, config


def parse_overrides(items: list[str], parser: argparse.ArgumentParser) -> dict[str, Any]:
    """FIELD=VALUE pairs as HexaGANConfig overrides, each value typed like the field's default
    (a bad field or value is a usage error: one line, exit status 2)."""
    from hexagan_core.config import CHOICES, NUMERIC_CONSTRAINTS, HexaGANConfig
    from hexagan_core.validation import check_param

    defaults = HexaGANConfig().to_dict()
    overrides: dict[str, Any] = {}
    for item in items:
        field, _, text = item.partition("=")
        if field not in defaults or not text:
            parser.error(f"--set expects FIELD=VALUE with a HexaGANConfig field; got {item!r}")
        try:
            overrides[field] = type(defaults[field])(text)
            # the value alone; rules across fields are the preset's, checked when it is built
            rule = NUMERIC_CONSTRAINTS.get(field) or CHOICES.get(field)
            if rule is not None:
                check_param(overrides[field], field, "--set", rule)
        except ValueError as error:
            parser.error(f"--set {item}: {error}")
    return overrides


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
            done = find_previous(previous, plan(dataset), dataset=dataset, seed=seed)
            result = done if done is not None else run(dataset, seed)
            runs.append(result)
            on_update(runs, skipped, result)
    return runs, skipped


def find_previous(
    previous: Sequence[dict[str, Any]], plan: Any, **key: Any
) -> dict[str, Any] | None:
    """A copy of the stored run whose `key` fields and plan match, marked "resumed", or None."""
    for stored in previous:
        if stored.get("plan") == plan and all(stored.get(k) == v for k, v in key.items()):
            return dict(stored, resumed=True)
    return None


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
    report = _progress_reporter(args, header, describe, write, key="dataset")
    runs, skipped = run_grid(
        args.datasets,
        args.seeds,
        max_rows=args.max_rows,
        plan=plan,
        run=run,
        previous=load_previous(args.out / f"{args.name}.json", args.resume),
        on_update=report,
    )
    return _finish(args, header, started, runs, skipped, write)


def _finish(
    args: Any,
    header: dict[str, Any],
    started: float,
    runs: list[dict[str, Any]],
    skipped: dict[str, str],
    write: Callable[[Any, dict[str, Any], list, dict[str, str]], None],
) -> int:
    """Stamp the header (resumed runs, finish date, wall time) and write the table once more."""
    header["resumed_runs"] = sum(1 for r in runs if r.get("resumed"))
    finish_header(header, started)
    write(args, header, runs, skipped)
    print(f"wrote {args.out / args.name}.json and .md in {header['wall_s']:.0f} s")
    return 0


def _progress_reporter(
    args: Any,
    header: dict[str, Any],
    describe: Callable[[dict[str, Any]], str],
    write: Callable[[Any, dict[str, Any], list, dict[str, str]], None],
    *,
    key: str,
) -> Callable[[list[dict], dict[str, str], dict | None], None]:
    """Print one line per finished (or skipped) run and rewrite the table's files."""

    def report(runs: list[dict], skipped: dict[str, str], last: dict | None) -> None:
        if last is None:
            name, reason = list(skipped.items())[-1]
            print(f"{name}: skipped ({reason})", flush=True)
        else:
            resumed = " (resumed)" if last.get("resumed") else ""
            print(
                f"{last[key]} seed {last['seed']}: {describe(last)}; "
                f"{last['wall_s']:.0f} s{resumed}",
                flush=True,
            )
        write(args, header, runs, skipped)

    return report


# --- sweeps: one dataset, many settings (missing rates, variants, hyperparameters) -------------


def base_parser(
    description: str, *, seeds: Sequence[int] = (0, 1, 2, 3, 4)
) -> argparse.ArgumentParser:
    """The options every sweep script shares: seeds, device, output files, resume, render, quick."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seeds", nargs="+", type=int, default=list(seeds))
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps", "auto"))
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument("--name", default=None, help="file stem (default: the script's table)")
    parser.add_argument("--resume", action="store_true", help="reuse finished runs of the plan")
    parser.add_argument("--note", action="append", default=[], help="a line for the header")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite DIR/NAME.md from DIR/NAME.json"
    )
    parser.add_argument("--quick", action="store_true", help="the CI smoke test: tiny budget")
    return parser


def run_sweep(
    args: Any,
    header: dict[str, Any],
    started: float,
    *,
    cells: Sequence[str],
    plan: Callable[[str], Any],
    run: Callable[[str, int], dict[str, Any]],
    describe: Callable[[dict[str, Any]], str],
    write: Callable[[Any, dict[str, Any], list, dict[str, str]], None],
) -> int:
    """Run every (cell, seed) of a sweep, seed-major, rewriting the files after each run.

    Seed-major (all cells of seed 0, then seed 1, ...) so that an interrupted sweep has every
    setting on the same seeds. `run(cell, seed)` returns a dict with "cell", "seed", "plan"
    (= `plan(cell)`) and "wall_s"; `--resume` reuses a stored run with the same plan.
    """
    report = _progress_reporter(args, header, describe, write, key="cell")
    previous = load_previous(args.out / f"{args.name}.json", args.resume)
    runs: list[dict[str, Any]] = []
    for seed in args.seeds:
        for cell in cells:
            done = find_previous(previous, plan(cell), cell=cell, seed=seed)
            runs.append(done if done is not None else run(cell, seed))
            report(runs, {}, runs[-1])
    return _finish(args, header, started, runs, {}, write)


def render_or_none(args: Any, write: Callable[[Any, dict[str, Any], list, dict], None]) -> bool:
    """With --render, rewrite NAME.md (and figures) from NAME.json and say so; else False."""
    if not args.render:
        return False
    path = args.out / f"{args.name}.json"
    rerender(path, lambda header, runs, skipped: write(args, header, runs, skipped))
    print(f"rewrote {path.with_suffix('.md')} from {path}")
    return True


def score_imputers(
    experiment: Any,
    names: Sequence[str],
    seed: int,
    device: str,
    *,
    gain_iterations: int | None = None,
    units: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict[str, dict[str, float]]:
    """Fit each imputer on the experiment's training rows; score it on the removed test cells.

    {name: {"rmse", "rmse_row", "mae", "seconds"}}, in min-max space or, with `units`, after
    mapping truth and imputation through it; `gain_iterations` overrides GAIN's (smoke tests).
    """
    from threadpoolctl import threadpool_limits

    from hexagan_core import metrics
    from hexagan_core.baselines import make_imputer

    train, test = experiment.train, experiment.test
    scores: dict[str, dict[str, float]] = {}
    for name in names:
        params = {"iterations": gain_iterations} if name == "gain" and gain_iterations else {}
        seed_everything(seed)
        with threadpool_limits(limits=1), Stopwatch() as watch:
            imputer = make_imputer(name, seed=seed, device=device, **params).fit(train.x_input)
            imputed = imputer.transform(test.x_input)
        to_units = units or (lambda x: x)
        scores[name] = metrics.imputation_scores(
            to_units(test.x_true), to_units(imputed), test.removed
        )
        scores[name]["seconds"] = watch.seconds
    return scores


# --- HexaGAN's cost and curves from a run ------------------------------------------------------


def hexagan_record(result: Any) -> dict[str, Any]:
    """HexaGAN's test scores and training cost from an `experiment.RunResult`.

    Cost: training seconds, iterations run, the validation-selected iteration and the training
    seconds at which that iteration was reached (from `model.history`).
    """
    report = result.report
    selected = report["selected_iteration"]
    reached = [r["seconds"] for r in result.model.history if r["iteration"] == selected]
    return {
        **report["results"]["hexagan"],
        "iterations": report["iterations"],
        "selected_iteration": selected,
        "seconds_to_selected": reached[0] if reached else None,
    }


def validation_curve(history: Sequence[dict[str, Any]], key: str = "val_rmse") -> dict[str, list]:
    """{"iteration": [...], key: [...]} from a model's history (validation reports only)."""
    kept = [r for r in history if key in r]
    return {"iteration": [r["iteration"] for r in kept], key: [float(r[key]) for r in kept]}


def summarise_cells(
    runs: Sequence[dict[str, Any]],
    cells: Sequence[str],
    methods: Sequence[str],
    metrics: Sequence[str],
) -> dict[str, dict[str, dict[str, list]]]:
    """{cell: {method: {metric: per-seed values, seed order}}} over the finished runs."""
    summary: dict[str, dict[str, dict[str, list]]] = {}
    for cell in cells:
        mine = sorted((r for r in runs if r["cell"] == cell), key=lambda r: r["seed"])
        if not mine:
            continue
        summary[cell] = {
            method: {key: [r["results"][method].get(key) for r in mine] for key in metrics}
            for method in methods
            if all(method in r["results"] for r in mine)
        }
        for values in summary[cell].values():
            values["seeds"] = [r["seed"] for r in mine]
    return summary


def sample_agreement(result: Any, seed: int, per_class: int = 100) -> dict[str, float]:
    """How recognisable and varied the class-conditional samples G_MI(G_CG(z, y)) of an
    `experiment.RunResult` are (`quality.SampleJudge`): the share labelled y by a logistic
    regression fitted on the complete training rows (its accuracy on the complete test rows
    bounds what to expect) and by HexaGAN's C (lenient: C is trained on such samples), and the
    samples' mean pairwise distance over that of real test rows, per class, averaged. Chance
    agreement: one over the classes."""
    from hexagan_core.quality import SampleJudge

    train, test = result.experiment.train, result.experiment.test
    quality = SampleJudge(seed=seed).fit(train.x_true, train.y_true).assess(
        result.model, test.x_true, test.y_true, per_class=per_class, seed=seed
    )
    classes = range(result.model.n_classes)
    samples = np.concatenate([result.model.sample(c, per_class, seed=seed)[0] for c in classes])
    wanted = np.repeat(np.arange(result.model.n_classes), per_class)
    return {
        "samples_judge_agreement": quality.agreement,
        "samples_c_agreement": float(np.mean(result.model.predict(samples, seed=seed) == wanted)),
        "judge_test_accuracy": quality.judge_accuracy,
        "samples_spread_ratio": quality.spread_ratio,
    }


def mnist_training_sample(images: np.ndarray, labels: np.ndarray, rows: int, pool: int,
                          seed: int, label_missing: float = 0.5):  # fmt: skip
    """`rows` random images of the first `pool` (intensities in [0, 1]) with half of their
    pixels NaN and `label_missing` of their labels -1, and the generator, for further draws."""
    rng = np.random.default_rng(seed)
    picked = rng.choice(pool, rows, replace=False)
    x = images[picked].copy()
    x[rng.random(x.shape) < 0.5] = np.nan
    y = np.where(rng.random(rows) < label_missing, -1, labels[picked])
    return x, y, rng


# --- figures -----------------------------------------------------------------------------------


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (files only: no display on a server or in CI)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path) -> Path:
    """Save `fig` as a PNG at `path` and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    pyplot().close(fig)
    return path
