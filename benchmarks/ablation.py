"""A validation-only ablation: preset 'default' against one-change variants, next to the
classical imputers, on the protocol seeds used for tuning.

    python benchmarks/ablation.py --variant NAME FIELD=VALUE [FIELD=VALUE ...]
        [--variant ...] [--datasets breast wine credit] [--seeds 11 12] [--iterations 3000]
        [--max-rows 5000] [--baselines knn mice missforest] [--out DIR] [--name ablation]
        [--note TEXT] [--quick]

For each dataset and seed (`hexagan_core.experiment`: stratified 65/15/20 split, 20 % MCAR, the
seeds' models trained together), every variant trains HexaGAN with the networks selected on the
validation RMSE and C chosen apart by validation F1, as the product does. Reported per variant,
mean over seeds [each seed]: the best validation RMSE, C's validation F1 and ROC-AUC at the
report that chose it, and the wall time; the baselines' validation RMSE (fitted on the training
rows) on the same masks. Only the validation split is read: the test split never decides a
default. The default itself is always run, as the row 'default'. --quick: breast, seed 11,
100 iterations, variant min_width=8, kNN only (the CI smoke test).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402


def parse_variants(items: list[list[str]], parser: argparse.ArgumentParser) -> dict[str, dict]:
    """{name: config overrides} from --variant NAME FIELD=VALUE ... groups."""
    variants: dict[str, dict[str, Any]] = {"default": {}}
    for name, *changes in items:
        if name in variants or not changes:
            parser.error(f"--variant needs a new name and FIELD=VALUE pairs; got {name!r}")
        variants[name] = common.parse_overrides(changes, parser)
    return variants


def _selected(history: list[dict[str, Any]]) -> dict[str, float | None]:
    """The best validation RMSE, and C's validation F1 and ROC-AUC where C was chosen."""
    best = min(history, key=lambda report: report["val_rmse"])
    chosen = [report for report in history if report.get("best_classifier")] or [best]
    return {
        "val_rmse": best["val_rmse"],
        "iteration": best["iteration"],
        "val_f1": chosen[-1].get("val_f1"),
        "val_roc_auc": chosen[-1].get("val_roc_auc"),
    }


def run_variant(args: Any, dataset: str, overrides: dict[str, Any]) -> dict[str, Any]:
    """Every seed of one variant on one dataset, trained together."""
    from hexagan_core.config import preset
    from hexagan_core.experiment import RunOptions, run_experiments

    started = time.perf_counter()
    options = [
        RunOptions(data=dataset, seed=seed, iterations=args.iterations, device="cpu",
                   max_rows=args.max_rows, config=preset("default", **overrides))
        for seed in args.seeds
    ]  # fmt: skip
    seeds = [_selected(result.model.history) for result in run_experiments(options)]
    return {"seeds": seeds, "wall_s": time.perf_counter() - started}


def baseline_rmse(args: Any, dataset: str) -> dict[str, list[float]]:
    """{imputer: validation RMSE per seed}, fitted on the training rows of each seed's split."""
    from hexagan_core.experiment import RunOptions, prepare_experiment

    out: dict[str, list[float]] = {name: [] for name in args.baselines}
    for seed in args.seeds:
        experiment = prepare_experiment(RunOptions(data=dataset, seed=seed, max_rows=args.max_rows))
        on_validation = SimpleNamespace(train=experiment.train, test=experiment.val)
        scores = common.score_imputers(on_validation, args.baselines, seed, "cpu")
        for name in args.baselines:
            out[name].append(scores[name]["rmse"])
    return out


def _cell(values: list[float | None], digits: int = 4) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "-"
    each = " / ".join("-" if v is None else f"{v:.{digits}f}" for v in values)
    return f"{np.mean(known):.{digits}f} [{each}]"


def variant_row(dataset: str, name: str, run: dict[str, Any]) -> str:
    """One variant's table row: each score, mean over seeds [each seed]."""
    column = {key: [seed[key] for seed in run["seeds"]] for key in run["seeds"][0]}
    return (
        f"| {dataset} | {name} | {_cell(column['val_rmse'])} | {_cell(column['val_f1'], 3)}"
        f" | {_cell(column['val_roc_auc'], 3)} | {run['wall_s']:.0f} |"
    )


def markdown(header: dict[str, Any], results: dict[str, Any]) -> str:
    lines = ["# Validation-only ablation", "", common.header_markdown(header), ""]
    lines += [
        "| dataset | variant | best val RMSE | C's val F1 | C's val ROC-AUC | wall s |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, entry in results.items():
        lines += [variant_row(dataset, name, run) for name, run in entry["variants"].items()]
        for name, values in entry["baselines"].items():
            lines.append(f"| {dataset} | {name} (imputer) | {_cell(values)} | | | |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = common.base_parser(__doc__.split("\n")[0], seeds=(11, 12))
    parser.add_argument("--variant", nargs="+", action="append", default=[],
                        metavar="NAME FIELD=VALUE")  # fmt: skip
    parser.add_argument("--datasets", nargs="+", default=["breast", "wine", "credit"])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--baselines", nargs="*", default=["knn", "mice", "missforest"])
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds, args.iterations = ["breast"], [11], 100
        args.variant, args.baselines = [["narrow", "min_width=8"]], ["knn"]
    args.name = args.name or ("ablation_quick" if args.quick else "ablation")
    variants = parse_variants(args.variant, parser)
    common.limit_threads()
    started = time.perf_counter()
    command = None if argv is None else ["benchmarks/ablation.py", *argv]
    header = common.run_header(
        device="cpu", seeds=args.seeds, iterations=args.iterations, argv=command
    )
    header["quick"], header["notes"] = args.quick, [*args.note, f"variants: {variants}"]
    results: dict[str, Any] = {}
    for dataset in args.datasets:
        results[dataset] = {"baselines": baseline_rmse(args, dataset), "variants": {}}
        for name, overrides in variants.items():
            run = results[dataset]["variants"][name] = run_variant(args, dataset, overrides)
            common.write_results(args, {"header": header, "results": results},
                                 markdown(header, results))  # fmt: skip
            print(variant_row(dataset, name, run), flush=True)
    common.finish_header(header, started)
    common.write_results(args, {"header": header, "results": results}, markdown(header, results))
    print(markdown(header, results))
    return results


if __name__ == "__main__":
    main()
