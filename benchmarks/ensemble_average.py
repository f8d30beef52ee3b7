"""Multiple imputation on validation data: what n_imputations = K buys, and what it costs.

    python benchmarks/ensemble_average.py [--datasets breast wine credit] [--seeds 11 12]
        [--imputations 1 3 5] [--iterations N] [--max-rows 3000] [--name NAME] [--quick]

For each dataset and protocol seed (its own split and 20 % MCAR mask, as `run_experiment`
makes them) and each K, `train.fit` trains preset 'default' with n_imputations = K and the run's
seed, as the product does: the K members train as one batched program, each keeping the
networks of its best validation RMSE and C chosen apart by validation F1. Scored on the
validation split only (protocol seeds 11 and 12 are the ones the default preset was tuned on),
so the result can inform the default without touching the test split: the RMSE of the
averaged imputation, the members' own RMSEs, C's F1 and ROC-AUC on the averaged probabilities,
and the training seconds on one CPU thread. Writes benchmarks/results/NAME.md and .json.
--quick: breast, seed 11, K 1 and 2, 60 iterations, nothing written.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from hexagan_core import metrics  # noqa: E402
from hexagan_core.config import preset  # noqa: E402
from hexagan_core.ensemble import HexaGANEnsemble  # noqa: E402
from hexagan_core.experiment import RunOptions, prepare_experiment  # noqa: E402
from hexagan_core.protocol import Experiment  # noqa: E402
from hexagan_core.train import Validation, fit  # noqa: E402


def validation_scores(experiment: Experiment, k: int, iterations: int) -> dict[str, Any]:
    """Train n_imputations = k on the experiment's training rows; its validation scores and
    training seconds."""
    train, val, seed = experiment.train, experiment.val, experiment.seed
    config = preset("default", seed=seed, iterations=iterations, n_imputations=k)
    start = time.perf_counter()
    model = fit(config, train.x_input, train.y_input, device="cpu", select_best="val_rmse",
                validation=Validation(val.x_input, val.x_true, val.removed, val.y_true),
                select_classifier="val_f1")  # fmt: skip
    seconds = time.perf_counter() - start

    def val_rmse(imputer) -> float:
        return metrics.rmse(val.x_true, imputer.impute(val.x_input, seed=seed), val.removed)

    members = model.members if isinstance(model, HexaGANEnsemble) else [model]
    proba = model.predict_proba(val.x_input, seed=seed)
    classification = metrics.classification_scores(val.y_true, proba)
    return {
        "k": k,
        "val_rmse": val_rmse(model),
        "member_val_rmse": [val_rmse(member) for member in members],
        "val_f1": classification["f1"],
        "val_roc_auc": classification["roc_auc"],
        "seconds": seconds,
    }


def markdown(header: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    """The header and one table row per (dataset, seed, K)."""
    lines = [
        "# Multiple imputation: n_imputations = K (validation only)",
        "",
        common.header_markdown(header),
        "",
        "Preset `default` with n_imputations = K and the protocol seed; each member selected on "
        "validation RMSE, C chosen apart by validation F1. Validation split only. *members*: "
        "the mean of the K members' own validation RMSEs. Seconds: training alone, one thread.",
        "",
        "| dataset | seed | K | val RMSE | members | val F1 | val ROC-AUC | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        lines.append(
            f"| {run['dataset']} | {run['seed']} | {run['k']} | {run['val_rmse']:.4f} | "
            f"{np.mean(run['member_val_rmse']):.4f} | {run['val_f1']:.4f} | "
            f"{run['val_roc_auc']:.4f} | {run['seconds']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["breast", "wine", "credit"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[11, 12])
    parser.add_argument("--imputations", nargs="+", type=int, default=[1, 3, 5])
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--name", default="multiple_imputation")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds, args.imputations, args.iterations = ["breast"], [11], [1, 2], 60
    iterations = args.iterations or preset("default").iterations
    os.environ.setdefault("HEXAGAN_OFFLINE", "1")
    common.limit_threads()
    started = time.perf_counter()
    script = ["benchmarks/ensemble_average.py"]
    header = common.run_header(device="cpu", seeds=args.seeds, iterations=iterations,
                               argv=None if argv is None else [*script, *argv])  # fmt: skip
    runs: list[dict[str, Any]] = []
    for dataset in args.datasets:
        for seed in args.seeds:
            experiment = prepare_experiment(
                RunOptions(data=dataset, seed=seed, max_rows=args.max_rows)
            )
            for k in args.imputations:
                run = {"dataset": dataset, "seed": seed,
                       **validation_scores(experiment, k, iterations)}  # fmt: skip
                runs.append(run)
                print(f"{dataset} seed {seed} K {k}: val RMSE {run['val_rmse']:.4f} (members "
                      f"{np.mean(run['member_val_rmse']):.4f}), F1 {run['val_f1']:.4f}, "
                      f"ROC-AUC {run['val_roc_auc']:.4f}, {run['seconds']:.0f} s", flush=True)
                if not args.quick:  # rewritten after every run: an interruption keeps them
                    common.finish_header(header, started)
                    path = common.RESULTS_DIR / args.name
                    common.dump_json(path.with_suffix(".json"), {"header": header, "runs": runs})
                    path.with_suffix(".md").write_text(markdown(header, runs), "utf-8")
    return runs


if __name__ == "__main__":
    main()
