"""Does averaging the imputations of K HexaGANs (one data set, K model seeds) lower the RMSE?

    python benchmarks/ensemble_average.py [--datasets breast wine credit] [--seeds 11]
        [--models 5] [--iterations N] [--max-rows 5000] [--quick]

For each dataset and protocol seed (its own split and 20 % MCAR mask), K models of preset
'default' that differ only in their seed train together on the same training rows
(`fit_ensemble`), each keeping the networks with its best validation RMSE. Printed: each
model's validation RMSE, their mean, and the validation RMSE of the average of the first
2, 3, ..., K models' imputations. Only the validation split is read (protocol seeds 11 and 12
are the ones the default preset was tuned on), so this can inform a default without touching
the test split. --quick: breast, 2 models, 100 iterations.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from hexagan_core import metrics  # noqa: E402
from hexagan_core.config import preset  # noqa: E402
from hexagan_core.experiment import RunOptions, prepare_experiment  # noqa: E402
from hexagan_core.train import Validation, fit_ensemble  # noqa: E402


def averaged_rmse(imputations: list[np.ndarray], truth: np.ndarray, scored: np.ndarray) -> dict:
    """Validation RMSE of each imputation and of the averages of the first 2, 3, ... of them."""
    single = [metrics.rmse(truth, x, scored) for x in imputations]
    averages = {
        k: metrics.rmse(truth, np.mean(imputations[:k], axis=0), scored)
        for k in range(2, len(imputations) + 1)
    }
    return {"single": single, "averages": averages}


def main(argv: list[str] | None = None) -> dict[str, dict[int, dict]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["breast", "wine", "credit"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[11])
    parser.add_argument("--models", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.models, args.iterations = ["breast"], 2, 100
    if args.models < 2:
        parser.error(f"--models must be at least 2; got {args.models}")
    iterations = args.iterations or preset("default").iterations
    os.environ.setdefault("HEXAGAN_OFFLINE", "1")
    common.limit_threads()
    out: dict[str, dict[int, dict]] = {}
    print(f"validation RMSE, {args.models} models of preset default, {iterations} iterations")
    for dataset in args.datasets:
        out[dataset] = {}
        for seed in args.seeds:
            start = time.perf_counter()
            experiment = prepare_experiment(
                RunOptions(data=dataset, seed=seed, max_rows=args.max_rows)
            )
            val = experiment.val
            train = experiment.train
            models = fit_ensemble(
                [preset("default", seed=s, iterations=iterations) for s in range(args.models)],
                [train.x_input] * args.models,
                [train.y_input] * args.models,
                validations=[Validation(val.x_input, val.x_true, val.removed, val.y_true)]
                * args.models,
                device="cpu",
                select_best="val_rmse",
            )
            imputations = [m.impute(val.x_input, seed=seed) for m in models]
            scores = averaged_rmse(imputations, val.x_true, val.removed)
            out[dataset][seed] = scores
            singles = " ".join(f"{v:.4f}" for v in scores["single"])
            averages = ", ".join(f"{k}: {v:.4f}" for k, v in scores["averages"].items())
            print(
                f"{dataset} seed {seed}: single [{singles}] mean {np.mean(scores['single']):.4f}; "
                f"averaged over the first k models {averages} "
                f"({time.perf_counter() - start:.0f} s)"
            )
    return out


if __name__ == "__main__":
    main()
