"""Speed of one Algorithm-1 iteration: the fast backend (`hexagan_core.engine`) against the readable
autograd algorithm (`hexagan_core.algorithm`); ensembles; the time HexaGAN takes to reach kNN's
imputation quality; and, with an accelerator, which device is faster for which model.

    python benchmarks/speed.py [--device auto|cpu|cuda] [--quick] [--breakdown] [--json PATH]
        [--sections breast,madelon,mnist,ensemble,quality,quality-compiled,devices]
        [--models 8,32] [--ttq-cap S] [--budget S] [--projections 4]
        [--compiled | --no-compiled] [--warm-compile-cache]

Sections, run in the order given (default: all of them, 'quality-compiled' only with
--compiled). After each, its lines are printed and the JSON is written, so that a run stopped
by a time limit keeps what it measured; a section that fails is recorded (`errors`, one line)
and the next one runs. Sections that would start after `--budget` seconds are skipped.

- breast, madelon, mnist: ms per iteration. breast (d = 30) and madelon (d = 500; offline the
  synthetic set of Madelon's recipe) with preset 'paper' (5 D_MI, E, G_MI, 10 x (5 D_CG +
  G_CG), C: 68 updates): the algorithm (`Algorithm.iteration`, autograd), the engine (the
  closed-form backend) and the engine with the random-projection estimate of L_GP^MI
  (`--projections`, default 4); with `--compiled` (the default without --quick) also the
  engine and the projected engine with engine='compiled', whose first iteration (the
  compilation, by default with an empty inductor cache: a first run's cost) is timed apart.
  mnist: preset 'mnist' (the convnets, which both backends train with autograd). All run on
  twins built from the same seed, alternately, after warm-up iterations; the table gives the
  median over the repeats of the wall time, and of this thread's CPU time (less disturbed when
  other processes share the cores). Peak memory, in one more iteration of each after the timed
  ones: on CUDA `torch.cuda.max_memory_allocated` above the allocation at the start of the
  iteration, beside the estimate of D_MI's batched Jacobian that training warns from
  (`engine.runtime.check_jacobian_memory`); on the CPU the peak resident set size (Linux
  VmHWM, reset through /proc/self/clear_refs before each iteration) above the RSS at its start,
  after glibc's malloc_trim(0) has handed the free heap back.
- ensemble: ms per iteration on breast of one model and of K seeds trained together as one
  batched program, for each K of `--models` (default 8 and 32), presets 'paper' and 'default'
  (and 'paper' compiled).
- quality, quality-compiled: seconds of `hexagan_core.train.fit` (preset 'default') on breast
  with 20 % MCAR (protocol seed 0) until the validation RMSE first reaches that of kNN fitted
  on the training rows, evaluated every 50 iterations, within `--ttq-cap` (default 180 s;
  --quick: 15 s); 'quality-compiled' with engine='compiled', its seconds including compiling.
- devices (with an accelerator only): ms per iteration of preset 'default' (and 'mnist') on
  the CPU, as training runs there (one thread for MLPs), and on the accelerator, for models on
  both sides of 'auto''s threshold (`hexagan_core.device.AUTO_GPU_MIN_WORK`), on synthetic
  data of each shape; whether `choose_device` picked the faster device; and whether one seed
  gives the same imputations twice on the accelerator.

--quick runs a small version (madelon cut to 100 features, MNIST to 300 rows, few repeats, one
ensemble of 8) for the CI smoke test. Torch runs on one CPU thread: these networks are far too
small to gain from intra-op threads. Datasets are never downloaded unless HEXAGAN_OFFLINE=0.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hexagan_core import baselines, metrics  # noqa: E402
from hexagan_core.algorithm import Algorithm  # noqa: E402
from hexagan_core.config import HexaGANConfig, preset  # noqa: E402
from hexagan_core.control import RunControl  # noqa: E402
from hexagan_core.data import load_builtin  # noqa: E402
from hexagan_core.device import AUTO_GPU_MIN_WORK, choose_device, resolve_device  # noqa: E402
from hexagan_core.engine import ClosedFormAlgorithm, build_algorithm  # noqa: E402
from hexagan_core.engine.runtime import (  # noqa: E402
    JACOBIAN_TENSORS_AT_ONCE,
    cpu_threads,
    jacobian_bytes,
    release_freed_heap,
)
from hexagan_core.protocol import prepare  # noqa: E402
from hexagan_core.train import Validation, fit  # noqa: E402

MIB = 2**20
SECTIONS = ("breast", "madelon", "mnist", "ensemble", "quality", "quality-compiled", "devices")
STEPS = {
    "d_mi_updates": "D_MI",
    "e_g_mi_step": "E + G_MI",
    "d_cg_step": "D_CG",
    "g_cg_step": "G_CG",
    "c_step": "C",
}
DEVICE_GRID = [  # (preset, features, models): both sides of AUTO_GPU_MIN_WORK = 64^2
    ("default", 30, 1), ("default", 30, 8), ("default", 30, 32), ("default", 48, 1),
    ("default", 64, 1), ("default", 100, 1), ("default", 500, 1), ("mnist", 784, 1),
]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one run measures."""

    warmup: int
    repeats: dict[str, int]  # per section
    madelon_features: int
    madelon_rows: int | None
    mnist_rows: int
    models: tuple[int, ...]
    ttq_cap_s: float


FULL = Plan(warmup=1, repeats={"breast": 9, "madelon": 3, "mnist": 5, "devices": 3},
            madelon_features=500, madelon_rows=None, mnist_rows=2000, models=(8, 32),
            ttq_cap_s=180.0)  # fmt: skip
QUICK = Plan(warmup=1, repeats={"breast": 3, "madelon": 2, "mnist": 2, "devices": 2},
             madelon_features=100, madelon_rows=400, mnist_rows=300, models=(8,),
             ttq_cap_s=15.0)  # fmt: skip


# --- device plumbing ----------------------------------------------------------------------------


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels, so that the clock measures the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


class PeakMemory:
    """Peak memory of one measured call, above what was in use when it started (MiB)."""

    def __init__(self, device: torch.device):
        self.device = device
        if device.type == "cuda":
            self.kind = "CUDA max_memory_allocated above the allocation at the start"
        elif self._can_reset_rss_peak():
            self.kind = "peak RSS (VmHWM, reset via /proc/self/clear_refs) above the RSS at start"
        else:
            self.kind = "growth of the process's max RSS (getrusage); only growth past old peaks"
        self._base = 0.0
        # glibc's malloc_trim hands freed heap pages back, so that they count again.
        self._trims = device.type != "cuda" and release_freed_heap()
        if self._trims:
            self.kind += ", after malloc_trim(0) returned the free heap to the system"

    @staticmethod
    def _can_reset_rss_peak() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
            return "VmHWM" in Path("/proc/self/status").read_text()
        except OSError:
            return False

    @staticmethod
    def _status_kib(field: str) -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
        raise RuntimeError(f"{field} not in /proc/self/status")

    @staticmethod
    def _max_rss_bytes() -> float:
        value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return float(value) if sys.platform == "darwin" else float(value) * 1024

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            return
        if self._trims:
            release_freed_heap()
        if self.kind.startswith("peak RSS"):
            Path("/proc/self/clear_refs").write_text("5")
            self._base = self._status_kib("VmRSS") * 1024
        else:
            self._base = self._max_rss_bytes()

    def peak_mib(self) -> float:
        if self.device.type == "cuda":
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self.kind.startswith("peak RSS"):
            peak = self._status_kib("VmHWM") * 1024
        else:
            peak = self._max_rss_bytes()
        return max(0.0, peak - self._base) / MIB


# --- data -------------------------------------------------------------------------------------


def training_rows(name: str, plan: Plan) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Training rows (x with NaN, y) of breast, madelon or mnist at 20 % MCAR, protocol seed 0,
    and the dataset's notes."""
    max_rows = {"madelon": plan.madelon_rows, "mnist": plan.mnist_rows}.get(name)
    dataset = load_builtin(name, max_rows=max_rows)
    notes = list(dataset.notes)
    if name == "madelon" and plan.madelon_features < dataset.features.shape[1]:
        features = dataset.features.iloc[:, : plan.madelon_features]
        dataset = dataclasses.replace(dataset, features=features)
        notes.append(f"cut to its first {plan.madelon_features} features (--quick)")
    split = prepare(dataset, missing_rate=0.2, seed=0).train
    return split.x_input, split.y_input, notes


def synthetic_rows(n_rows: int, n_features: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Uniform values with 20 % of the entries missing and two classes: an iteration's time
    depends on the shapes only."""
    rng = np.random.default_rng(seed)
    x = rng.random((n_rows, n_features)).astype(np.float32)
    x[rng.random(x.shape) < 0.2] = np.nan
    return x, (np.arange(n_rows) % 2).astype(np.int64)


# --- ms per iteration ---------------------------------------------------------------------------


def _iteration(algorithm: Algorithm) -> None:
    """One iteration as `fit` runs it."""
    algorithm.iteration(algorithm.draw())


def _timed_steps(obj: Any, steps: dict[str, str], totals: dict[str, float], device) -> None:
    """Wrap the instance's step methods so that each adds its wall time (ms) to `totals`."""

    def timed(run, label):
        def call(*args, **kwargs):
            synchronize(device)
            start = time.perf_counter()
            result = run(*args, **kwargs)
            synchronize(device)
            totals[label] += (time.perf_counter() - start) * 1000
            return result

        return call

    for method, label in steps.items():
        setattr(obj, method, timed(getattr(obj, method), label))


def iteration_variants(config: HexaGANConfig, projections: int,
                       compiled: bool) -> dict[str, HexaGANConfig]:  # fmt: skip
    """The engine's variants timed against the algorithm: the exact and the projected penalty,
    each also compiled; the convnets have one (no penalty, no compiled form)."""
    if config.architecture == "mnist":
        return {"engine": config}
    variants = {"engine": config, "projected": config.replace(penalty_projections=projections)}
    if compiled:
        variants["compiled"] = config.replace(engine="compiled")
        variants["compiled_projected"] = variants["projected"].replace(engine="compiled")
    return variants


def time_iterations(
    x: np.ndarray, y: np.ndarray, device: torch.device, warmup: int, repeats: int, breakdown: bool,
    projections: int, compiled: bool, preset_name: str = "paper",
) -> dict[str, Any]:  # fmt: skip
    """Median ms per iteration of the algorithm and the engine's variants
    (`iteration_variants`) in turn, compiled ones' first iteration timed apart, plus peak
    memory."""
    config = preset(preset_name)
    variants = iteration_variants(config, projections, compiled)
    trainers = {name: build_algorithm([cfg], [x], [y], device) for name, cfg in variants.items()}
    algorithm = Algorithm([config], [x], [y], device)
    runs = {name: functools.partial(_iteration, t) for name, t in
            {"algorithm": algorithm, **trainers}.items()}  # fmt: skip
    first_iteration_s = {}
    for name in [n for n in runs if n.startswith("compiled")]:
        start = time.perf_counter()
        runs[name]()
        synchronize(device)
        first_iteration_s[name] = time.perf_counter() - start
    memory = PeakMemory(device)
    for _ in range(warmup):
        for run in runs.values():
            run()
    synchronize(device)
    samples: dict[str, dict[str, list[float]]] = {name: {"wall": [], "cpu": []} for name in runs}
    for r in range(repeats):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))  # share the load's drift
        for name in order:
            synchronize(device)
            wall, cpu = time.perf_counter(), time.thread_time()
            runs[name]()
            synchronize(device)
            samples[name]["wall"].append((time.perf_counter() - wall) * 1000)
            samples[name]["cpu"].append((time.thread_time() - cpu) * 1000)
    # Memory in a pass of its own: resetting the peak hands the free heap back first, and the
    # page faults of taking it again would slow a timed iteration.
    peaks = {}
    for name, run in runs.items():
        memory.start()
        run()
        synchronize(device)
        peaks[name] = memory.peak_mib()
    engine = trainers["engine"]
    batched = not (isinstance(engine, ClosedFormAlgorithm) and engine.penalty_by_row)
    out: dict[str, Any] = {
        "preset": preset_name,
        "d": int(x.shape[1]),
        "rows": int(x.shape[0]),
        "batch_rows": engine.batch_rows,
        "updates_per_iteration": config.n_critic + 2 + config.n_cg * (config.n_critic + 1) + 1,
        "warmup": warmup,
        "repeats": repeats,
        "projections": projections,
        "variants": list(variants),
        "memory_measure": memory.kind,
        # What training's memory warning estimates for the exact penalty's batched Jacobian
        # (None where the engine takes it row by row or there is none).
        "jacobian_estimate_mib": (
            JACOBIAN_TENSORS_AT_ONCE * jacobian_bytes(1, engine.batch_rows, int(x.shape[1])) / MIB
            if batched and engine.penalised("d_mi") else None
        ),  # fmt: skip
        # The first iteration of a compiled trainer: compilation (cold inductor cache unless the
        # run says otherwise) plus one iteration.
        "compile_s": first_iteration_s,
    }
    for name, s in samples.items():
        out[f"{name}_ms"] = statistics.median(s["wall"])
        out[f"{name}_cpu_ms"] = statistics.median(s["cpu"])
        out[f"{name}_peak_mib"] = peaks[name]
        out[f"{name}_ms_all"] = [round(v, 2) for v in s["wall"]]
    out["ratio"] = out["algorithm_ms"] / out["engine_ms"]
    out["ratio_cpu"] = out["algorithm_cpu_ms"] / out["engine_cpu_ms"]
    for name in variants:
        if name != "engine":
            out[f"ratio_{name}"] = out["algorithm_ms"] / out[f"{name}_ms"]
    if breakdown:  # one more iteration each, with the clock read around every step
        out["breakdown_ms"] = {}
        for name, obj in (("algorithm", algorithm), ("engine", engine)):
            totals: dict[str, float] = defaultdict(float)
            _timed_steps(obj, STEPS, totals, device)
            runs[name]()
            out["breakdown_ms"][name] = {label: round(ms, 2) for label, ms in totals.items()}
    return out


def median_ms(runs: dict[str, Callable[[], None]], device: torch.device, repeats: int,
              iterations: int) -> dict[str, float]:  # fmt: skip
    """Median ms per call of each run, `iterations` calls per sample, the runs alternating; a
    first round warms up."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(repeats + 1):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))
        for name in order:
            synchronize(device)
            start = time.perf_counter()
            for _ in range(iterations):
                runs[name]()
            synchronize(device)
            if r:
                samples[name].append((time.perf_counter() - start) * 1000 / iterations)
    return {name: statistics.median(values) for name, values in samples.items()}


def time_ensemble(
    x: np.ndarray, y: np.ndarray, device: torch.device, n_models: int, repeats: int,
    compiled: bool,
) -> dict[str, Any]:  # fmt: skip
    """Median ms per iteration of one model and of `n_models` seeds trained together
    (`fit_ensemble`'s trainer), presets 'paper' and 'default' (and 'paper' with
    engine='compiled', after its compilation), alternating."""
    out: dict[str, Any] = {"n_models": n_models, "repeats": repeats}
    settings = {"paper": preset("paper"), "default": preset("default")}
    if compiled:
        settings["paper_compiled"] = preset("paper", engine="compiled")
    for label, config in settings.items():
        trainers = {
            "one": build_algorithm([config], [x], [y], device),
            "together": build_algorithm([config.replace(seed=s) for s in range(n_models)],
                                        [x] * n_models, [y] * n_models, device),  # fmt: skip
        }
        if config.engine == "compiled":
            for trainer in trainers.values():
                _iteration(trainer)
        runs = {name: functools.partial(_iteration, t) for name, t in trainers.items()}
        iterations = 10 if config.n_cg == 1 else 1  # similar wall time per sample
        ms = median_ms(runs, device, repeats, iterations)
        one, together = ms["one"], ms["together"]
        out[label] = {"one_ms": one, "together_ms": together, "ratio": together / one}
    return out


def time_devices(accelerator: torch.device, repeats: int) -> dict[str, Any]:
    """ms per iteration on the CPU and on `accelerator` for each point of `DEVICE_GRID`, and
    which `choose_device` picks; whether one seed gives one imputation twice on the
    accelerator."""
    cpu = torch.device("cpu")
    points = []
    threads = torch.get_num_threads()
    # The CPU as a training process has it (all cores), which cpu_threads narrows as training
    # does: one thread for MLPs, all but one for the convnets.
    torch.set_num_threads(os.cpu_count() or 1)
    try:
        for preset_name, d, n_models in DEVICE_GRID:
            points.append(_device_point(preset_name, d, n_models, cpu, accelerator, repeats))
    finally:
        torch.set_num_threads(threads)
    return {
        "accelerator": accelerator.type,
        "auto_gpu_min_work": AUTO_GPU_MIN_WORK,
        "repeats": repeats,
        "points": points,
        "same_seed_same_imputation": _repeatable(accelerator),
    }


def _device_point(preset_name: str, d: int, n_models: int, cpu: torch.device,
                  accelerator: torch.device, repeats: int) -> dict[str, Any]:  # fmt: skip
    """One point of `DEVICE_GRID`: ms per iteration on each device, the faster, 'auto''s pick."""
    config = preset(preset_name)
    x, y = synthetic_rows(600, d)
    ms = {}
    for device in (cpu, accelerator):
        with cpu_threads(device, config):  # the CPU as training runs it
            trainer = build_algorithm([config.replace(seed=s) for s in range(n_models)],
                                      [x] * n_models, [y] * n_models, device)  # fmt: skip
            iterations = 1 if preset_name == "mnist" or d >= 500 else 5
            run = functools.partial(_iteration, trainer)
            ms[device.type] = median_ms({"run": run}, device, repeats, iterations)["run"]
    faster = min(ms, key=ms.get)
    chosen = choose_device(config, d, n_models).device.type
    return {
        "preset": preset_name, "d": d, "n_models": n_models, "work": n_models * d * d,
        "cpu_ms": ms["cpu"], "accelerator_ms": ms[accelerator.type], "faster": faster,
        "auto": chosen, "auto_is_faster": chosen == faster,
    }  # fmt: skip


def _repeatable(device: torch.device) -> bool:
    """Whether two fits with one seed impute the same numbers on `device`."""
    x, y = synthetic_rows(300, 30)
    config = preset("default", iterations=20, eval_every=20)
    imputed = [fit(config, x, y, device=str(device)).impute(x) for _ in range(2)]
    return bool(np.array_equal(*imputed))


# --- time to quality ----------------------------------------------------------------------------


def time_to_quality(
    device: torch.device, cap_s: float, eval_every: int = 50, engine: str = "eager"
) -> dict[str, Any]:
    """Seconds of fit (preset 'default') until the validation RMSE reaches kNN's, on breast
    (with engine='compiled', the seconds include the compilation)."""
    experiment = prepare(load_builtin("breast"), missing_rate=0.2, seed=0)
    train, val = experiment.train, experiment.val
    knn = baselines.make_imputer("knn").fit(train.x_input)
    knn_rmse = metrics.imputation_scores(val.x_true, knn.transform(val.x_input), val.removed)[
        "rmse"
    ]
    # Enough iterations that only the time cap or reaching the target ends the run.
    config = preset("default", iterations=1_000_000, eval_every=eval_every, engine=engine)
    control = RunControl()
    timer = threading.Timer(cap_s, control.stop)  # also stops a run whose reports come too late
    result: dict[str, Any] = {"reached": False, "seconds": None, "iteration": None}
    best = {"val_rmse": float("inf"), "iterations_run": 0, "training_s": 0.0}

    def on_report(report: dict[str, Any]) -> None:
        rmse = report["val_rmse"]
        best["val_rmse"] = min(best["val_rmse"], rmse)
        best["iterations_run"], best["training_s"] = report["iteration"], report["seconds"]
        if rmse <= knn_rmse and not result["reached"]:
            result.update(reached=True, seconds=report["seconds"], iteration=report["iteration"])
        if result["reached"] or report["seconds"] >= cap_s:
            control.stop()

    start = time.perf_counter()
    timer.start()
    try:
        fit(
            config,
            train.x_input,
            train.y_input,
            validation=Validation(val.x_input, val.x_true, val.removed, val.y_true),
            callback=on_report,
            control=control,
            device=str(device),
        )
    finally:
        timer.cancel()
    return {
        "dataset": "breast",
        "missing_rate": 0.2,
        "preset": "default",
        "engine": engine,
        "eval_every": eval_every,
        "cap_s": cap_s,
        "knn_val_rmse": knn_rmse,
        **result,
        "best_val_rmse": best["val_rmse"],
        "iterations_run": best["iterations_run"],
        "training_s": best["training_s"],
        "wall_s": time.perf_counter() - start,
    }


# --- what each section prints -------------------------------------------------------------------


def _cell(row: dict[str, Any], key: str, width: int, suffix: str = "") -> str:
    """`row[key]` right-aligned in `width` with one decimal, or '-' where it was not measured."""
    value = row.get(key)
    return f"{'-' if value is None else f'{value:.1f}{suffix}':>{width}}"


def iteration_lines(name: str, r: dict[str, Any]) -> list[str]:
    header = (
        f"{'dataset':<9}{'preset':>7}{'d':>5}{'rep':>5}{'algorithm ms':>19}{'engine ms':>19}"
        f"{'alg/engine':>15}{'peak MiB alg/eng':>19}{'projected ms':>15}{'compiled ms':>13}"
        f"{'comp+proj ms':>14}"
    )
    lines = [
        f"ms per Algorithm-1 iteration, preset '{r['preset']}' ({r['updates_per_iteration']} "
        "updates); median of the repeats after warm-up, wall clock [this thread's CPU time]; "
        f"peak memory: {r['memory_measure']}",
        header,
        "-" * len(header),
        f"{name:<9}{r['preset']:>7}{r['d']:>5}{r['repeats']:>5}"
        f"{r['algorithm_ms']:>10.1f} [{r['algorithm_cpu_ms']:>6.0f}]"
        f"{r['engine_ms']:>10.1f} [{r['engine_cpu_ms']:>6.0f}]"
        f"{r['ratio']:>7.2f}x [{r['ratio_cpu']:.2f}x]"
        f"{r['algorithm_peak_mib']:>10.1f} / {r['engine_peak_mib']:<6.1f}"
        + _cell(r, "projected_ms", 15) + _cell(r, "compiled_ms", 13)
        + _cell(r, "compiled_projected_ms", 14),
    ]
    if r["jacobian_estimate_mib"] is not None:
        lines.append(f"{name}: D_MI's batched Jacobian, estimated "
                     f"{r['jacobian_estimate_mib']:.1f} MiB per update (engine's measured peak "
                     f"{r['engine_peak_mib']:.1f} MiB)")  # fmt: skip
    for variant, seconds in r["compile_s"].items():
        lines.append(f"{name}: first iteration of '{variant}' (compilation included) "
                     f"{seconds:.1f} s")  # fmt: skip
    for impl, steps in r.get("breakdown_ms", {}).items():
        parts = ", ".join(f"{label} {ms:.0f}" for label, ms in steps.items())
        lines.append(f"  {name} {impl} per step kind (ms per iteration): {parts}")
    return lines


def ensemble_lines(e: dict[str, Any]) -> list[str]:
    return [
        f"ensemble, breast, preset {label}: one model {r['one_ms']:.1f} ms/it, {e['n_models']} "
        f"models together {r['together_ms']:.1f} ms/it ({r['ratio']:.2f}x one model's time)"
        for label, r in e.items() if isinstance(r, dict)
    ]  # fmt: skip


def quality_lines(t: dict[str, Any]) -> list[str]:
    outcome = (
        f"reached it after {t['seconds']:.1f} s of training (iteration {t['iteration']})"
        if t["reached"]
        else f"did not reach it within {t['cap_s']:.0f} s ({t['iterations_run']} iterations)"
    )
    return [
        f"time to quality: breast, 20% MCAR, preset 'default', engine '{t['engine']}', "
        f"validation every {t['eval_every']} iterations: kNN val RMSE {t['knn_val_rmse']:.4f}; "
        f"HexaGAN {outcome}; best val RMSE {t['best_val_rmse']:.4f}"
    ]


def devices_lines(r: dict[str, Any]) -> list[str]:
    if "skipped" in r:
        return [f"devices: skipped ({r['skipped']})"]
    name = r["accelerator"].upper()
    lines = [f"devices: ms per iteration, CPU (as training runs it) against {name}; 'auto' "
             f"takes {name} from K * d^2 = {r['auto_gpu_min_work']:,}"]  # fmt: skip
    for p in r["points"]:
        verdict = "right" if p["auto_is_faster"] else "WRONG"
        lines.append(f"  {p['preset']:>7} d = {p['d']:>3} K = {p['n_models']:>2} "
                     f"(K * d^2 = {p['work']:>7,}): CPU {p['cpu_ms']:8.1f}, {name} "
                     f"{p['accelerator_ms']:8.1f}; faster {p['faster']}, auto {p['auto']} "
                     f"({verdict})")  # fmt: skip
    right = sum(p["auto_is_faster"] for p in r["points"])
    lines.append(f"devices: auto picked the faster device at {right} of {len(r['points'])} "
                 f"points; one seed, the same imputation twice on {name}: "
                 f"{r['same_seed_same_imputation']}")  # fmt: skip
    return lines


# --- the run ------------------------------------------------------------------------------------


def run_sections(sections: dict[str, Callable[[], list[str]]], results: dict[str, Any],
                 json_path: Path | None, budget_s: float | None) -> None:  # fmt: skip
    """Run each section; after each, write the JSON and print its lines. A section that ends
    well is listed in `results['finished']`; one that fails is recorded in `results['errors']`
    (one line; its traceback on stderr) and the next one runs; one that would start after
    `budget_s` is listed in `results['skipped']`."""
    start = time.perf_counter()
    for name, measure in sections.items():
        if budget_s is not None and time.perf_counter() - start > budget_s:
            results["skipped"].append(name)
            lines = [f"{name}: skipped (the {budget_s:.0f} s budget is spent)"]
        else:
            try:
                lines = measure()
                results["finished"].append(name)
            except Exception as error:  # the other sections still measure and report
                traceback.print_exc()
                results["errors"][name] = f"{type(error).__name__}: {' '.join(str(error).split())}"
                lines = [f"{name}: failed: {results['errors'][name]}"]
        if json_path is not None:
            json_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print("\n".join(lines), flush=True)


def _csv_list(kind: Callable[[str], Any]) -> Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        try:
            return tuple(kind(part) for part in text.split(",") if part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated list, got {text!r}"
            ) from None

    return parse


def _section_names(text: str) -> tuple[str, ...]:
    names = _csv_list(str)(text)
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown section {unknown[0]!r}; "
                                         f"choose from {','.join(SECTIONS)}")  # fmt: skip
    return names


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--quick", action="store_true", help="a small run for the CI smoke test")
    parser.add_argument("--breakdown", action="store_true", help="also time each step kind")
    parser.add_argument("--json", type=Path, help="write the numbers here after every section")
    parser.add_argument("--sections", type=_section_names, default=None,
                        help="comma-separated, run in this order (default: all; "
                        "'quality-compiled' only with --compiled)")  # fmt: skip
    parser.add_argument("--models", type=_csv_list(int), default=None,
                        help="ensemble sizes, comma-separated (default 8,32; --quick: 8)")
    parser.add_argument("--ttq-cap", type=float, default=None,
                        help="seconds of training allowed to reach kNN's quality "
                        "(default 180; --quick: 15)")  # fmt: skip
    parser.add_argument("--budget", type=float, default=None,
                        help="skip the sections that would start after this many seconds")
    parser.add_argument("--projections", type=int, default=4,
                        help="random projections of the estimated penalty (default 4)")
    parser.add_argument("--compiled", action=argparse.BooleanOptionalAction, default=None,
                        help="also time engine='compiled' (default: yes, but not with --quick)")
    parser.add_argument("--warm-compile-cache", action="store_true",
                        help="reuse torch.compile's on-disk cache (default: a fresh, empty one, "
                        "so that compile times are what a first run pays)")  # fmt: skip
    args = parser.parse_args(argv)
    compiled = not args.quick if args.compiled is None else args.compiled
    if compiled and not args.warm_compile_cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="hexagan-inductor-")

    os.environ.setdefault("HEXAGAN_OFFLINE", "1")
    torch.set_num_threads(1)
    plan = QUICK if args.quick else FULL
    try:
        device = resolve_device(args.device)
    except ValueError as error:  # e.g. --device cuda without CUDA: one line, exit status 2
        parser.error(str(error))
    models = args.models or plan.models
    ttq_cap_s = plan.ttq_cap_s if args.ttq_cap is None else args.ttq_cap
    names = args.sections or tuple(s for s in SECTIONS if compiled or s != "quality-compiled")
    results: dict[str, Any] = {
        "device": device.type,
        "device_name": device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "quick": args.quick,
        "timing": "median over repeats after warm-up; wall clock and this thread's CPU time",
        "notes": [],
        "compiled": compiled,
        "compile_cache": "warm (reused)" if args.warm_compile_cache else "cold (fresh directory)",
        "sections": list(names),
        "iteration": {},
        "ensemble": {},
        "finished": [],
        "errors": {},
        "skipped": [],
    }
    print(f"device: {results['device_name']} [{device.type}], torch {torch.__version__}, "
          f"{results['threads']} CPU thread(s); sections: {', '.join(names)}",
          flush=True)  # fmt: skip

    def iteration(name: str) -> list[str]:
        x, y, notes = training_rows(name, plan)
        results["notes"] += [f"{name}: {note}" for note in notes]
        results["iteration"][name] = time_iterations(
            x, y, device, plan.warmup, plan.repeats[name], args.breakdown, args.projections,
            compiled, preset_name="mnist" if name == "mnist" else "paper",
        )  # fmt: skip
        return iteration_lines(name, results["iteration"][name]) + [
            f"note: {name}: {note}" for note in notes
        ]

    def ensemble() -> list[str]:
        x, y, _ = training_rows("breast", plan)
        lines = []
        for n_models in models:
            e = time_ensemble(x, y, device, n_models, plan.repeats["breast"], compiled)
            results["ensemble"][f"K={n_models}"] = e
            lines += ensemble_lines(e)
        return lines

    def quality(engine: str) -> list[str]:
        key = "time_to_quality" if engine == "eager" else f"time_to_quality_{engine}"
        results[key] = time_to_quality(device, ttq_cap_s, engine=engine)
        return quality_lines(results[key])

    def devices() -> list[str]:
        if device.type == "cpu":
            results["devices"] = {"skipped": "no accelerator: nothing to compare the CPU with"}
        else:
            results["devices"] = time_devices(device, plan.repeats["devices"])
        return devices_lines(results["devices"])

    measures: dict[str, Callable[[], list[str]]] = {
        "breast": functools.partial(iteration, "breast"),
        "madelon": functools.partial(iteration, "madelon"),
        "mnist": functools.partial(iteration, "mnist"),
        "ensemble": ensemble,
        "quality": functools.partial(quality, "eager"),
        "quality-compiled": functools.partial(quality, "compiled"),
        "devices": devices,
    }
    run_sections({name: measures[name] for name in names}, results, args.json, args.budget)
    if results["errors"] or results["skipped"]:
        print(f"not measured: failed {sorted(results['errors']) or 'none'}, skipped "
              f"{results['skipped'] or 'none'}")  # fmt: skip
    return results


if __name__ == "__main__":
    main()
