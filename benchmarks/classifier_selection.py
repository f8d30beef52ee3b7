"""Does choosing C apart (its own checkpoint, by validation log-loss or F1) beat keeping the C
of the imputation checkpoint (chosen by validation RMSE)? A validation-only ablation.

    python benchmarks/classifier_selection.py [--datasets breast wine credit credit-rare]
        [--seeds 11 12] [--iterations N] [--max-rows 3000] [--quick] [--json PATH]

For each dataset and protocol seed (20 % MCAR), the validation rows are split in two halves,
stratified by class: half A is what training reports on and selects with, half B judges the
rules. 'imputation checkpoint': every network, C included, from the report with the best
validation RMSE on A (the rule before). 'C by log-loss' and 'C by F1': the same imputation
networks, and C from the report whose C has the lowest log-loss (or the best F1) on A with
those networks' imputations (`select_classifier`). CPU training is deterministic, so the three
share one trajectory (the first rule's C is that of a run stopped at the imputation
checkpoint). Printed: F1 and ROC-AUC on half B, and the chosen iterations. The test split is
never read. 'credit-rare' is credit with its minority class subsampled to about 3 % (imbalance
ratio 32). --quick: breast, 300 iterations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from hexagan_core import metrics  # noqa: E402
from hexagan_core.config import preset  # noqa: E402
from hexagan_core.data import load_builtin  # noqa: E402
from hexagan_core.protocol import prepare  # noqa: E402
from hexagan_core.train import Validation, fit  # noqa: E402

DATASETS = {"credit-rare": ("credit", 32.0)}  # name -> (built-in dataset, imbalance ratio)
RULES = ("imputation_checkpoint", "val_log_loss", "val_f1")  # how C is chosen


def halves(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of two halves of the validation rows, stratified by class."""
    rng = np.random.default_rng(seed)
    first, second = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        first.append(rows[: len(rows) // 2])
        second.append(rows[len(rows) // 2 :])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def one_run(name: str, seed: int, iterations: int, max_rows: int) -> dict:
    source, ratio = DATASETS.get(name, (name, None))
    dataset = load_builtin(source, max_rows=max_rows, seed=seed)
    experiment = prepare(dataset, missing_rate=0.2, imbalance_ratio=ratio, seed=seed)
    val, train = experiment.val, experiment.train
    select, judge = halves(val.y_true, seed)
    validation = Validation(val.x_input[select], val.x_true[select], val.removed[select],
                            val.y_true[select])  # fmt: skip
    config = preset("default", iterations=iterations, seed=seed)
    minority_share = float(np.bincount(train.y_true).min() / len(train.y_true))
    out: dict = {"minority_share": minority_share}
    models = {}
    for rule in RULES[1:]:
        models[rule] = fit(config, train.x_input, train.y_input, validation=validation,
                           device="cpu", select_best="val_rmse",
                           select_classifier=rule)  # fmt: skip
        history = models[rule].history
        out["imputation_iteration"] = max(r["iteration"] for r in history if r.get("best"))
        out[f"{rule}_iteration"] = next(r["iteration"] for r in history
                                        if r.get("best_classifier"))  # fmt: skip
    models[RULES[0]] = fit(config.replace(iterations=out["imputation_iteration"]),
                           train.x_input, train.y_input, device="cpu")  # fmt: skip
    for rule, model in models.items():
        proba = model.predict_proba(val.x_input[judge], seed=seed)
        out[rule] = metrics.classification_scores(val.y_true[judge], proba)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["breast", "wine", "credit",
                                                          "credit-rare"])  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=[11, 12])
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds, args.iterations = ["breast"], [11], 300
    iterations = args.iterations or preset("default").iterations
    os.environ.setdefault("HEXAGAN_OFFLINE", "1")
    common.limit_threads()
    results: dict = {}
    print(f"{'dataset':<12}{'seed':>5}{'imp. it':>8}{'C it (ll, f1)':>15}"
          f"{'F1 before / ll / f1':>26}{'AUC before / ll / f1':>26}")  # fmt: skip
    for name in args.datasets:
        for seed in args.seeds:
            r = one_run(name, seed, iterations, args.max_rows)
            results.setdefault(name, {})[seed] = r
            f1s = " / ".join(f"{r[rule]['f1']:.4f}" for rule in RULES)
            aucs = " / ".join(f"{r[rule]['roc_auc']:.4f}" for rule in RULES)
            chosen = f"{r['val_log_loss_iteration']}, {r['val_f1_iteration']}"
            print(f"{name:<12}{seed:>5}{r['imputation_iteration']:>8}{chosen:>15}"
                  f"{f1s:>26}{aucs:>26}", flush=True)  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
