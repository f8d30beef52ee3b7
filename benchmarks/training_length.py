"""How long to train: HexaGAN's best validation RMSE within the first N iterations.

    python benchmarks/training_length.py [--datasets breast wine credit] [--seeds 0 1 2 3 4]
        [--iterations 20000] [--caps 1000 3000 10000 20000] [--max-rows 5000] [--quick]

For each dataset, the seeds' runs (`hexagan_core.experiment.run_experiments`: each seed its own
split and 20 % MCAR mask, preset 'default' with `--iterations`, the seeds' models trained
together) report their validation RMSE every 50 iterations. A run selected on validation
within the first N iterations is the report with the lowest validation RMSE up to N, so one
long run answers every cap: the table gives, per cap, that best validation RMSE, mean over
seeds. Only the validation split is read: this is how the default preset's length was chosen,
never on the test split. --quick: breast, seeds 0 and 1, 200 iterations, caps 100 and 200.
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
from hexagan_core.experiment import RunOptions, run_experiments  # noqa: E402


def best_within(history: list[dict], cap: int) -> float:
    """The lowest validation RMSE reported at or before iteration `cap`."""
    return min(r["val_rmse"] for r in history if r["iteration"] <= cap)


def main(argv: list[str] | None = None) -> dict[str, dict[int, list[float]]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["breast", "wine", "credit"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--iterations", type=int, default=20000)
    parser.add_argument("--caps", nargs="+", type=int, default=[1000, 3000, 10000, 20000])
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds, args.iterations, args.caps = ["breast"], [0, 1], 200, [100, 200]
    os.environ.setdefault("HEXAGAN_OFFLINE", "1")
    common.limit_threads()
    out: dict[str, dict[int, list[float]]] = {}
    print("best validation RMSE within the first N iterations (mean over seeds [each seed])")
    for dataset in args.datasets:
        start = time.perf_counter()
        runs = [
            RunOptions(data=dataset, seed=seed, iterations=args.iterations, device="cpu",
                       max_rows=args.max_rows)
            for seed in args.seeds
        ]  # fmt: skip
        histories = [result.model.history for result in run_experiments(runs)]
        out[dataset] = {
            cap: [best_within(h, cap) for h in histories]
            for cap in args.caps
            if cap <= args.iterations
        }
        for cap, values in out[dataset].items():
            cells = " ".join(f"{v:.4f}" for v in values)
            print(f"{dataset:8s} N = {cap:6d}: {np.mean(values):.4f}  [{cells}]")
        print(f"{dataset:8s} {len(args.seeds)} seeds trained together in "
              f"{time.perf_counter() - start:.0f} s")  # fmt: skip
    return out


if __name__ == "__main__":
    main()
