"""Are HexaGAN's class-conditional samples recognisable on tabular data? (Table 6's check.)

    python benchmarks/sample_agreement.py [--datasets wine breast credit] [--seeds 0]
        [--iterations 3000] [--max-rows 5000] [--set FIELD=VALUE ...] [--quick]

For each dataset and seed, one `run_experiment` (Table 1's protocol: 20 % MCAR, preset
'default' with `--iterations`, networks selected on validation RMSE), then
`common.sample_agreement`: 100 samples G_MI(G_CG(z, y)) per class, and the share of them that
a logistic regression fitted on the complete training rows, and HexaGAN's C, label y (chance:
one over the classes). Table 6 measures the same on MNIST, where the samples collapse; this
script tells whether conditional generation works on the tabular datasets. Also printed: the
kept networks' validation RMSE and C's validation F1 and ROC-AUC, by which a change of the
conditional generation is judged (the test split is not read). --quick: wine, 100 iterations.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from hexagan_core import metrics  # noqa: E402
from hexagan_core.config import preset  # noqa: E402
from hexagan_core.experiment import RunOptions, run_experiment  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, dict[int, dict[str, Any]]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["wine", "breast", "credit"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--quick", action="store_true")
    common.add_set_option(parser, "alpha3=1")
    args = parser.parse_args(argv)
    overrides = common.parse_overrides(args.set, parser)
    if args.quick:
        args.datasets, args.iterations = ["wine"], 100
    os.environ.setdefault("HEXAGAN_OFFLINE", "1")
    warnings.filterwarnings("ignore", module="sklearn")
    common.limit_threads()
    out: dict[str, dict[int, dict[str, Any]]] = {}
    print(f"class-conditional samples, preset default {overrides or ''}, "
          f"{args.iterations} iterations")
    for dataset in args.datasets:
        out[dataset] = {}
        for seed in args.seeds:
            options = RunOptions(data=dataset, seed=seed, iterations=args.iterations,
                                 device="cpu", max_rows=args.max_rows,
                                 config=preset("default", **overrides))  # fmt: skip
            common.seed_everything(seed)
            result = run_experiment(options)
            scores = common.sample_agreement(result, seed)
            scores["classes"] = result.model.n_classes
            scores.update(_validation_scores(result))
            out[dataset][seed] = scores
            print(
                f"{dataset} seed {seed}: {scores['classes']} classes; samples labelled as their "
                f"class by the judge {scores['samples_judge_agreement']:.3f} (its test accuracy "
                f"{scores['judge_test_accuracy']:.3f}), by C {scores['samples_c_agreement']:.3f}; "
                f"spread {scores['samples_spread_ratio']:.3f} of the real rows'; validation "
                f"RMSE {scores['val_rmse']:.4f}, C's F1 {scores['val_f1']:.4f}, ROC-AUC "
                f"{scores['val_roc_auc']:.4f}"
            )
    return out


def _validation_scores(result: Any) -> dict[str, float]:
    """The kept networks' imputation RMSE and C's scores on the validation split: what a change
    of conditional generation may be judged by (the test split stays unread)."""
    val, model = result.experiment.val, result.model
    return {
        "val_rmse": metrics.rmse(val.x_true, model.impute(val.x_input), val.removed),
        **{f"val_{name}": value for name, value in metrics.classification_scores(
            val.y_true, model.predict_proba(val.x_input)).items()},  # fmt: skip
    }


if __name__ == "__main__":
    main()
