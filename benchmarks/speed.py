"""Speed of one Algorithm-1 iteration: the fast backend (`hexagan_core.engine`) against the readable
autograd algorithm (`hexagan_core.algorithm`), and the time HexaGAN takes to reach kNN's
imputation quality.

    python benchmarks/speed.py [--device auto|cpu|cuda] [--quick] [--breakdown] [--json PATH]
        [--projections 4] [--models 8] [--compiled | --no-compiled] [--warm-compile-cache]

1. ms per iteration, preset 'paper' (5 D_MI, E, G_MI, 10 x (5 D_CG + G_CG), C: 68 updates), of
   the algorithm (`Algorithm.iteration`, autograd), of the engine (the closed-form backend),
   and of the engine with the
   random-projection estimate of L_GP^MI (`--projections`, default 4), on breast (d = 30) and on
   madelon (d = 500; offline it is the synthetic set of Madelon's recipe). All run on twins
   built from the same seed, alternately, after warm-up iterations; the table gives the
   median over the repeats of the wall time, and of this thread's CPU time (less disturbed when
   other processes share the cores). Peak memory, in one more iteration of each after the timed
   ones: on CUDA `torch.cuda.max_memory_allocated`
   above the allocation at the start of the iteration; on the CPU the peak resident set size
   (Linux VmHWM, reset through /proc/self/clear_refs before each iteration) above the RSS at its
   start, after glibc's malloc_trim(0) has handed the free heap back (otherwise memory kept from
   earlier iterations would be reused unseen). The printout says which measure was used.
   With `--compiled` (the default without --quick) the engine and the projected engine are
   also timed with engine='compiled' (torch.compile'd steps): their first iteration, which
   compiles, is timed apart, by default with an empty inductor cache (a first run's cost).
   Ensembles: ms per iteration on breast of one model and of `--models` (default 8) seeds
   trained together as one batched program, presets 'paper' and 'default' (and 'paper'
   compiled).
2. Time to quality: seconds of `hexagan_core.train.fit` (preset 'default') on breast with 20 %
   MCAR (protocol seed 0) until the validation RMSE first reaches that of kNN fitted on the
   training rows, evaluated every 50 iterations, within a cap (180 s; --quick: 15 s); with
   `--compiled` also for engine='compiled', whose seconds include the compilation.

--quick runs a small version (madelon cut to 100 features, few repeats) for the CI smoke test.
Torch runs on one CPU thread: these networks are far too small to gain from intra-op threads.
Datasets are never downloaded unless HEXAGAN_OFFLINE=0 is set.
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
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hexagan_core import baselines, metrics  # noqa: E402
from hexagan_core.algorithm import Algorithm  # noqa: E402
from hexagan_core.config import preset  # noqa: E402
from hexagan_core.control import RunControl  # noqa: E402
from hexagan_core.data import load_builtin  # noqa: E402
from hexagan_core.device import resolve_device  # noqa: E402
from hexagan_core.engine import build_algorithm  # noqa: E402
from hexagan_core.engine.runtime import release_freed_heap  # noqa: E402
from hexagan_core.protocol import prepare  # noqa: E402
from hexagan_core.train import Validation, fit  # noqa: E402

MIB = 2**20
STEPS = {
    "d_mi_updates": "D_MI",
    "e_g_mi_step": "E + G_MI",
    "d_cg_step": "D_CG",
    "g_cg_step": "G_CG",
    "c_step": "C",
}


@dataclasses.dataclass(frozen=True)
class Plan:
    """What one run measures."""

    warmup: int
    repeats: dict[str, int]  # per dataset
    madelon_features: int
    madelon_rows: int | None
    ttq_cap_s: float


FULL = Plan(warmup=1, repeats={"breast": 9, "madelon": 3}, madelon_features=500,
            madelon_rows=None, ttq_cap_s=180.0)  # fmt: skip
QUICK = Plan(warmup=1, repeats={"breast": 3, "madelon": 2}, madelon_features=100,
             madelon_rows=400, ttq_cap_s=15.0)  # fmt: skip


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


def load_datasets(plan: Plan) -> dict[str, tuple[np.ndarray, np.ndarray, list[str]]]:
    """Training rows (x with NaN, y) of breast and madelon at 20 % MCAR, protocol seed 0."""
    out = {}
    for name in ("breast", "madelon"):
        dataset = load_builtin(name, max_rows=plan.madelon_rows if name == "madelon" else None)
        notes = list(dataset.notes)
        if name == "madelon" and plan.madelon_features < dataset.features.shape[1]:
            features = dataset.features.iloc[:, : plan.madelon_features]
            dataset = dataclasses.replace(dataset, features=features)
            notes.append(f"cut to its first {plan.madelon_features} features (--quick)")
        split = prepare(dataset, missing_rate=0.2, seed=0).train
        out[name] = (split.x_input, split.y_input, notes)
    return out


# --- 1. ms per iteration ------------------------------------------------------------------------


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


def time_iterations(
    x: np.ndarray, y: np.ndarray, device: torch.device, warmup: int, repeats: int, breakdown: bool,
    projections: int, compiled: bool,
) -> dict[str, Any]:  # fmt: skip
    """Median ms per iteration of the algorithm, the engine (exact penalty), the engine with
    `projections` random projections for L_GP^MI and, if `compiled`, both with engine='compiled'
    (whose first iteration, the compilation, is timed apart), in turn, plus peak memory."""
    config = preset("paper")
    variants = {"engine": config, "projected": config.replace(penalty_projections=projections)}
    if compiled:
        variants["compiled"] = config.replace(engine="compiled")
        variants["compiled_projected"] = variants["projected"].replace(engine="compiled")
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
    out: dict[str, Any] = {
        "d": int(x.shape[1]),
        "rows": int(x.shape[0]),
        "batch_rows": engine.batch_rows,
        "updates_per_iteration": config.n_critic + 2 + config.n_cg * (config.n_critic + 1) + 1,
        "warmup": warmup,
        "repeats": repeats,
        "projections": projections,
        "variants": list(variants),
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
        samples: dict[str, list[float]] = {name: [] for name in trainers}
        iterations = 10 if config.n_cg == 1 else 1  # similar wall time per sample
        for r in range(repeats + 1):
            order = list(trainers) if r % 2 == 0 else list(reversed(trainers))
            for name in order:
                synchronize(device)
                start = time.perf_counter()
                for _ in range(iterations):
                    _iteration(trainers[name])
                synchronize(device)
                if r:  # the first round warms up
                    samples[name].append((time.perf_counter() - start) * 1000 / iterations)
        one, together = (statistics.median(samples[n]) for n in ("one", "together"))
        out[label] = {"one_ms": one, "together_ms": together, "ratio": together / one}
    return out


# --- 2. time to quality -------------------------------------------------------------------------


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


# --- report -------------------------------------------------------------------------------------


def print_report(results: dict[str, Any]) -> None:
    print(
        f"device: {results['device_name']} [{results['device']}], torch {results['torch']}, "
        f"{results['threads']} CPU thread(s)"
    )
    print(
        "ms per Algorithm-1 iteration, preset 'paper' (68 updates); median of the repeats after "
        "warm-up, wall clock [this thread's CPU time]"
    )
    print(f"peak memory: {results['memory_measure']}")
    header = (
        f"{'dataset':<9}{'d':>5}{'rep':>5}{'algorithm ms':>19}{'engine ms':>19}"
        f"{'alg/engine':>15}{'peak MiB alg/eng':>19}{'projected ms':>15}{'alg/proj':>10}"
    )
    compiled = any("compiled" in r["variants"] for r in results["iteration"].values())
    if compiled:
        header += f"{'compiled ms':>13}{'alg/comp':>10}{'comp+proj ms':>14}{'alg/c+p':>9}"
    print(header)
    print("-" * len(header))
    for name, r in results["iteration"].items():
        line = (
            f"{name:<9}{r['d']:>5}{r['repeats']:>5}"
            f"{r['algorithm_ms']:>10.1f} [{r['algorithm_cpu_ms']:>6.0f}]"
            f"{r['engine_ms']:>10.1f} [{r['engine_cpu_ms']:>6.0f}]"
            f"{r['ratio']:>7.2f}x [{r['ratio_cpu']:.2f}x]"
            f"{r['algorithm_peak_mib']:>10.1f} / {r['engine_peak_mib']:<6.1f}"
            f"{r['projected_ms']:>13.1f}{r['ratio_projected']:>9.2f}x"
        )
        if "compiled" in r["variants"]:
            line += (
                f"{r['compiled_ms']:>13.1f}{r['ratio_compiled']:>9.2f}x"
                f"{r['compiled_projected_ms']:>14.1f}{r['ratio_compiled_projected']:>8.2f}x"
            )
        print(line)
    for name, r in results["iteration"].items():
        for variant, seconds in r["compile_s"].items():
            print(f"{name}: first iteration of '{variant}' (compilation included) {seconds:.1f} s")
    projections = next(iter(results["iteration"].values()))["projections"]
    print(
        f"projected: the engine with L_GP^MI estimated from {projections} random projections "
        "per row (penalty_projections; an unbiased estimate, not the same computation)"
    )
    e = results["ensemble"]
    for label in ("paper", "default", "paper_compiled"):
        if label in e:
            r = e[label]
            print(f"ensemble, breast, preset {label}: one model {r['one_ms']:.1f} ms/it, "
                  f"{e['n_models']} models together {r['together_ms']:.1f} ms/it "
                  f"({r['ratio']:.2f}x one model's time)")  # fmt: skip
    for name, r in results["iteration"].items():
        if "breakdown_ms" in r:
            for impl, steps in r["breakdown_ms"].items():
                parts = ", ".join(f"{label} {ms:.0f}" for label, ms in steps.items())
                print(f"  {name} {impl} per step kind (ms per iteration): {parts}")
    for note in results["notes"]:
        print(f"note: {note}")
    for key in ("time_to_quality", "time_to_quality_compiled"):
        if key in results:
            print_time_to_quality(results[key])


def print_time_to_quality(t: dict[str, Any]) -> None:
    outcome = (
        f"reached it after {t['seconds']:.1f} s of training (iteration {t['iteration']})"
        if t["reached"]
        else f"did not reach it within {t['cap_s']:.0f} s ({t['iterations_run']} iterations)"
    )
    print(
        f"time to quality: breast, 20% MCAR, preset 'default', engine '{t['engine']}', "
        f"validation every {t['eval_every']} iterations: kNN val RMSE {t['knn_val_rmse']:.4f}; "
        f"HexaGAN {outcome}; best val RMSE {t['best_val_rmse']:.4f}"
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--quick", action="store_true", help="a small run for the CI smoke test")
    parser.add_argument("--breakdown", action="store_true", help="also time each step kind")
    parser.add_argument("--json", type=Path, help="write the numbers to this JSON file")
    parser.add_argument("--projections", type=int, default=4,
                        help="random projections of the estimated penalty (default 4)")
    parser.add_argument("--models", type=int, default=8,
                        help="models trained together in the ensemble timing (default 8)")
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
    memory = PeakMemory(device)
    datasets = load_datasets(plan)
    results: dict[str, Any] = {
        "device": device.type,
        "device_name": device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "quick": args.quick,
        "memory_measure": memory.kind,
        "timing": "median over repeats after warm-up; wall clock and this thread's CPU time",
        "notes": [f"{name}: {note}" for name, (_, _, notes) in datasets.items() for note in notes],
        "compiled": compiled,
        "compile_cache": "warm (reused)" if args.warm_compile_cache else "cold (fresh directory)",
        "iteration": {},
    }
    for name, (x, y, _) in datasets.items():
        results["iteration"][name] = time_iterations(
            x, y, device, plan.warmup, plan.repeats[name], args.breakdown, args.projections,
            compiled,
        )
    x, y, _ = datasets["breast"]
    results["ensemble"] = time_ensemble(
        x, y, device, args.models, plan.repeats["breast"], compiled
    )
    results["time_to_quality"] = time_to_quality(device, plan.ttq_cap_s)
    if compiled:
        results["time_to_quality_compiled"] = time_to_quality(
            device, plan.ttq_cap_s, engine="compiled"
        )
    print_report(results)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
