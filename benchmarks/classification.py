"""Table 2: classification with 20 % missing features, 50 % missing labels, natural imbalance.

    python benchmarks/classification.py [--datasets breast wine credit] [--seeds 0 1 2 3 4]
        [--pipelines mean mice+smote gain+smote+self_training ...]
        [--ablations no_adv no_cg no_label_adv] [--iterations N | NAME=N ...] [--max-rows 5000]
        [--device cpu] [--out DIR] [--name classification] [--note TEXT] [--resume] [--render]
        [--quick]

For each dataset and seed, `hexagan_core.experiment.run_experiment` prepares the data (stratified
65/15/20 split, 20 % of the observed cells removed MCAR, 50 % of the training labels hidden, the
classes left as they are) and trains HexaGAN (preset 'default'). This is a classification table,
so its networks, C included, are the ones with the best validation F1 of the minority class
(`RunOptions.select_on='val_f1'`, evaluated every 50 iterations), never chosen on the test split.
Each ablation is another `run_experiment` call, its `RunOptions.config` the preset with one
change, the same selection and the same seed, hence the same split, masks and hidden labels
(checked). Each baseline pipeline is a `hexagan_core.baselines.ClassificationPipeline` fitted
on that same experiment's training rows (features with NaN, labels with -1 = hidden) and scored
on its test rows.

A pipeline is written IMPUTER[+smote][+self_training]: the imputer (one of IMPUTERS) fitted on all
training rows, SMOTE on the labelled rows, then an MLP shaped like HexaGAN's C, trained on the
labelled rows or, with self_training, wrapped in scikit-learn's SelfTrainingClassifier (threshold
0.8) over the unlabelled rows too.

Ablations (one change each to preset 'default', given as `RunOptions.config`):
- no_adv: adversarial_weight = 0. E and G_MI learn from L_recon alone ("without D_MI's
  adversarial loss"); D_MI is still trained, as the label critic behind L_C.
- no_cg: n_cg = 0 and classifier_balance = 'none'. G_CG and D_CG are never trained and C trains
  on the labelled rows alone, without synthetic balancing rows ("without G_CG/D_CG").
- no_label_adv: alpha4 = 0. C drops the label-adversarial term L_C; D_MI still trains its label
  output.

Results go to DIR/NAME.json and DIR/NAME.md after every run; `--resume`, `--render` and `--note`
work as in `imputation.py`.

Reported: minority-class F1 (binary datasets), ROC-AUC, accuracy and the test imputation RMSE,
mean ± sample SD over seeds; for HexaGAN against each method the Wilcoxon rank-sum p-value and
Cohen's d on the per-seed F1s, and on how many seeds HexaGAN's F1 is higher; the iterations run
and the validation-selected iteration of every HexaGAN variant.

--quick (the CI smoke test): breast, seed 0, 100 iterations, two pipelines and the three
ablations; written under the name 'classification_quick' unless --name is given.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

DATASETS = ("breast", "wine", "credit")
MISSING_RATE = 0.2
LABEL_MISSING_RATE = 0.5
PIPELINES = (
    "mean",
    "mean+smote",
    "knn+smote",
    "mice",
    "mice+smote",
    "mice+smote+self_training",
    "missforest+smote",
    "gain",
    "gain+self_training",
    "gain+smote+self_training",
)
ABLATIONS: dict[str, dict[str, Any]] = {
    "no_adv": {"adversarial_weight": 0.0},
    "no_cg": {"n_cg": 0, "classifier_balance": "none"},
    "no_label_adv": {"alpha4": 0.0},
}
ABLATION_LABELS = {
    "no_adv": "HexaGAN w/o D_MI's adversarial loss (adversarial_weight = 0)",
    "no_cg": "HexaGAN w/o G_CG/D_CG (n_cg = 0, C on labelled rows only)",
    "no_label_adv": "HexaGAN w/o label-adversarial term (alpha4 = 0)",
}
# A classification table: select on the validation F1 (Table 1 selects on RMSE).
SELECT_ON = "val_f1"
METRICS = ("f1", "roc_auc", "accuracy", "rmse")
NAMES = {"mean": "mean", "knn": "kNN", "mice": "MICE", "missforest": "MissForest-style",
         "gain": "GAIN", "zero": "zero"}  # fmt: skip


def parse_pipeline(spec: str) -> dict[str, str]:
    """'mice+smote+self_training' -> the ClassificationPipeline arguments."""
    from hexagan_core.baselines import IMPUTERS

    imputer, *steps = spec.split("+")
    if imputer not in IMPUTERS or not set(steps) <= {"smote", "self_training"}:
        raise SystemExit(
            f"--pipelines: expected IMPUTER[+smote][+self_training] with IMPUTER one of "
            f"{', '.join(IMPUTERS)}; got {spec!r}"
        )
    return {
        "imputer": imputer,
        "balance": "smote" if "smote" in steps else "none",
        "semi_supervised": "self_training" if "self_training" in steps else "none",
    }


def pipeline_label(spec: str) -> str:
    parts = parse_pipeline(spec)
    words = [NAMES[parts["imputer"]]]
    if parts["balance"] == "smote":
        words.append("SMOTE")
    words.append("self-training MLP" if parts["semi_supervised"] == "self_training" else "MLP")
    return " + ".join(words)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--pipelines", nargs="+", default=list(PIPELINES))
    parser.add_argument("--ablations", nargs="*", default=list(ABLATIONS), choices=ABLATIONS)
    parser.add_argument(
        "--iterations", nargs="+", default=[], help="HexaGAN iterations: N, or NAME=N for one"
    )
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps", "auto"))
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--name", default=None, help="file stem (default: classification)")
    parser.add_argument("--resume", action="store_true", help="reuse finished runs of the plan")
    parser.add_argument("--note", action="append", default=[], help="a line for the header")
    parser.add_argument(
        "--render", action="store_true", help="only rewrite DIR/NAME.md from DIR/NAME.json"
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds = ["breast"], [0]
        args.pipelines = ["mean", "mean+smote+self_training"]
        args.iterations = args.iterations or ["100"]
    for spec in args.pipelines:
        parse_pipeline(spec)
    args.name = args.name or ("classification_quick" if args.quick else "classification")
    args.iterations = common.parse_iterations(args.iterations, args.datasets, DATASETS)
    return args


# --- running ------------------------------------------------------------------------------------


def _options(dataset: str, seed: int, args: argparse.Namespace, overrides: dict[str, Any]):
    from hexagan_core.config import preset
    from hexagan_core.experiment import RunOptions

    return RunOptions(
        data=dataset,
        seed=seed,
        missing_rate=MISSING_RATE,
        mechanism="mcar",
        label_missing_rate=LABEL_MISSING_RATE,
        imbalance_ratio=None,
        device=args.device,
        max_rows=args.max_rows,
        iterations=args.iterations[dataset],
        config=preset("default", **overrides),
        select_on=SELECT_ON,
    )


def _hexagan_scores(report: dict[str, Any]) -> dict[str, Any]:
    scores = {k: report["results"]["hexagan"][k] for k in METRICS}
    scores["seconds"] = report["results"]["hexagan"]["seconds"]
    scores["selected_iteration"] = report["selected_iteration"]
    scores["iterations"] = report["iterations"]
    return scores


def _same_protocol(a, b) -> bool:
    """Whether two experiments have the same splits, removed cells and hidden labels."""
    return all(
        np.array_equal(getattr(a, part).rows, getattr(b, part).rows)
        and np.array_equal(getattr(a, part).removed, getattr(b, part).removed)
        and np.array_equal(getattr(a, part).y_input, getattr(b, part).y_input)
        for part in ("train", "val", "test")
    )


def run_pipeline(spec: str, experiment, seed: int, device: str) -> dict[str, Any]:
    """Fit one ClassificationPipeline on the experiment's training rows, score its test rows."""
    from hexagan_core import metrics
    from hexagan_core.baselines import ClassificationPipeline

    train, test = experiment.train, experiment.test
    pipeline = ClassificationPipeline(**parse_pipeline(spec), seed=seed, device=device)
    with common.Stopwatch() as watch:
        pipeline.fit(train.x_input, train.y_input)
        proba = pipeline.predict_proba(test.x_input)
        imputed = pipeline.imputer_.transform(test.x_input)
    if not np.array_equal(pipeline.classes_, np.arange(experiment.n_classes)):
        raise RuntimeError(f"{spec}: classes {pipeline.classes_} are not 0..{experiment.n_classes}")
    scores = metrics.classification_scores(test.y_true, proba)
    scores["rmse"] = metrics.rmse(test.x_true, imputed, test.removed)
    scores["seconds"] = watch.seconds
    return scores


def run_one(dataset: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """HexaGAN, its ablations and every pipeline on one dataset and seed."""
    from hexagan_core.experiment import run_experiment

    common.seed_everything(seed)
    with common.Stopwatch() as watch:
        main = run_experiment(_options(dataset, seed, args, {}))
        experiment = main.experiment
        results = {"hexagan": _hexagan_scores(main.report)}
        for name in args.ablations:
            common.seed_everything(seed)
            ablated = run_experiment(_options(dataset, seed, args, ABLATIONS[name]))
            if not _same_protocol(experiment, ablated.experiment):
                raise RuntimeError(f"{dataset} seed {seed}: ablation {name} saw other masks")
            results[name] = _hexagan_scores(ablated.report)
        for spec in args.pipelines:
            common.seed_everything(seed)
            results[spec] = run_pipeline(spec, experiment, seed, args.device)
    y_train = experiment.train.y_input
    labelled = y_train[y_train >= 0]
    kept_labels = np.asarray(experiment.dataset.labels)[experiment.kept_rows]
    return {
        "dataset": dataset,
        "seed": seed,
        "plan": plan_key(dataset, args),
        "wall_s": watch.seconds,
        "rows": main.report["rows"],
        "features": main.report["features"],
        "encoded_features": main.report["encoded_features"],
        "classes": main.report["classes"],
        "class_counts": np.bincount(kept_labels[kept_labels >= 0]).tolist(),
        "minority_class": experiment.dataset.class_names[
            int(np.argmin(np.bincount(experiment.test.y_true)))
        ],
        "split_rows": main.report["split_rows"],
        "train_labelled": int(labelled.size),
        "train_unlabelled": int((y_train < 0).sum()),
        "train_labelled_counts": np.bincount(labelled, minlength=experiment.n_classes).tolist(),
        "notes": main.report["notes"],
        "config": main.report["config"],
        "results": results,
    }


def plan_key(dataset: str, args: argparse.Namespace) -> dict[str, Any]:
    """What must match for --resume to reuse a run."""
    return {
        "iterations": args.iterations[dataset],
        "pipelines": sorted(args.pipelines),
        "ablations": sorted(args.ablations),
        "max_rows": args.max_rows,
        "device": args.device,
        "select_on": SELECT_ON,
    }


# --- summarising --------------------------------------------------------------------------------


def method_names(args: argparse.Namespace) -> list[str]:
    return ["hexagan", *args.ablations, *args.pipelines]


def label(method: str) -> str:
    if method == "hexagan":
        return "HexaGAN (default preset)"
    return ABLATION_LABELS.get(method) or pipeline_label(method)


def summarise(runs: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """Per dataset: per-seed values of every metric and method, and HexaGAN-vs-method F1 tests."""
    summary: dict[str, Any] = {}
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        mine = sorted((r for r in runs if r["dataset"] == dataset), key=lambda r: r["seed"])
        per_method = {
            m: {k: [r["results"][m][k] for r in mine] for k in (*METRICS, "seconds")}
            for m in methods
        }
        for m in ("hexagan", *ABLATIONS):
            if m in per_method:
                for key in ("selected_iteration", "iterations"):
                    per_method[m][key] = [r["results"][m][key] for r in mine]
        hexagan_f1 = per_method["hexagan"]["f1"]
        tests = {}
        for m in methods[1:]:
            other = per_method[m]["f1"]
            enough = len(mine) >= 2
            tests[m] = {
                "p_rank_sum": common.wilcoxon_rank_sum(hexagan_f1, other) if enough else None,
                "cohens_d": common.cohens_d(hexagan_f1, other) if enough else None,
                "hexagan_higher_on": sum(h > o for h, o in zip(hexagan_f1, other, strict=True)),
            }
        baselines = [m for m in methods[1:] if m not in ABLATIONS]
        means = {m: common.mean_std(per_method[m]["f1"])[0] for m in baselines}
        first = mine[0]
        summary[dataset] = {
            "seeds": [r["seed"] for r in mine],
            **{k: first[k] for k in ("rows", "features", "encoded_features", "classes")},
            **{k: first[k] for k in ("class_counts", "minority_class", "split_rows", "notes")},
            "train_labelled": [r["train_labelled"] for r in mine],
            "train_unlabelled": [r["train_unlabelled"] for r in mine],
            "per_method": per_method,
            "tests_f1": tests,
            "best_baseline": max(means, key=means.get) if means else None,
        }
    return summary


def _verdict(h: float, o: float, p: float | None) -> str:
    if p is None:
        return "one seed: no test"
    winner = "HexaGAN" if h > o else "baseline"
    return f"{winner} higher, p < 0.05" if p < 0.05 else "no significant difference (p >= 0.05)"


def markdown(header: dict[str, Any], summary: dict[str, Any], skipped: dict[str, str]) -> str:
    Column = common.Column
    parts = [
        "# Table 2: classification with 20 % missing features and 50 % missing labels",
        "",
        common.header_markdown(header),
        "",
        "Protocol: `hexagan_core.experiment.run_experiment` per dataset and seed: stratified "
        "65/15/20 split, 20 % of the observed feature cells removed completely at random, 50 % "
        "of the training labels hidden (validation and test labels kept), classes at their "
        "natural imbalance. HexaGAN (preset `default`) keeps the networks, classifier C "
        "included, with the best validation F1 of the minority class (evaluated every 50 "
        "iterations; `RunOptions.select_on='val_f1'`); nothing is selected on the test split. "
        "Ablations rerun HexaGAN with one config change, the same selection, the same split, "
        "masks and hidden labels: w/o D_MI's adversarial loss = `adversarial_weight` 0 (E and "
        "G_MI learn from L_recon alone); w/o G_CG/D_CG = `n_cg` 0 and `classifier_balance` "
        "'none' (no conditional generation, C trained on the labelled rows without synthetic "
        "balancing); w/o label-adversarial term = `alpha4` 0. Baselines: "
        "`ClassificationPipeline` (imputer fitted on all training rows, optional SMOTE on the "
        "labelled rows, an MLP of the same widths as C "
        "trained on the labelled rows, optionally self-training over the unlabelled rows), "
        "fitted on the same training rows and scored on the same test rows. F1: of the "
        "minority class; ROC-AUC: of the minority class; RMSE: the method's imputation of the "
        "removed test cells. Mean ± sample SD over seeds, best mean per column in bold. p: "
        "two-sided Wilcoxon rank-sum test of HexaGAN's per-seed F1s against the method's "
        "(normal approximation; with 5 seeds per side the smallest reachable p is 0.0090); d: "
        "Cohen's d = (HexaGAN - method) / pooled SD, positive when HexaGAN's F1 is higher; "
        "wins: seeds on which HexaGAN's F1 is higher (same data).",
        "",
    ]
    if summary:
        parts += ["## Summary: HexaGAN against the best baseline pipeline (highest mean F1)", ""]
        rows = []
        for dataset, s in summary.items():
            best = s["best_baseline"]
            if best is None:
                continue
            test = s["tests_f1"][best]
            h = common.mean_std(s["per_method"]["hexagan"]["f1"])[0]
            b = common.mean_std(s["per_method"][best]["f1"])[0]
            rows.append(
                {
                    "dataset": dataset,
                    "hexagan": s["per_method"]["hexagan"]["f1"],
                    "best": label(best),
                    "best_f1": s["per_method"][best]["f1"],
                    "p": test["p_rank_sum"],
                    "d": test["cohens_d"],
                    "wins": f"{test['hexagan_higher_on']}/{len(s['seeds'])}",
                    "verdict": _verdict(h, b, test["p_rank_sum"]),
                }
            )
        parts.append(
            common.markdown_table(
                [
                    Column("dataset", "dataset"),
                    Column("HexaGAN F1", "hexagan"),
                    Column("best baseline", "best"),
                    Column("its F1", "best_f1"),
                    Column("p", "p"),
                    Column("d", "d", digits=2),
                    Column("HexaGAN higher on", "wins"),
                    Column("verdict", "verdict"),
                ],
                rows,
            )
        )
        parts.append("")
    columns = [
        Column("method", "method"),
        Column("F1 (minority)", "f1", "max"),
        Column("ROC-AUC", "roc_auc", "max"),
        Column("accuracy", "accuracy", "max"),
        Column("RMSE", "rmse", "min"),
        Column("seconds", "seconds", digits=1),
        Column("p (F1)", "p"),
        Column("d (F1)", "d", digits=2),
        Column("HexaGAN higher on", "wins"),
    ]
    for dataset, s in summary.items():
        split = s["split_rows"]
        counts = ", ".join(f"{c} {n}" for c, n in zip(s["classes"], s["class_counts"], strict=True))
        selected = "; ".join(
            f"{'HexaGAN' if m == 'hexagan' else m}: "
            + ", ".join(map(str, s["per_method"][m]["selected_iteration"]))
            for m in ("hexagan", *ABLATIONS)
            if m in s["per_method"]
        )
        parts += [
            f"## {dataset}",
            "",
            f"{s['rows']} rows ({counts}; minority class: {s['minority_class']}), "
            f"{s['features']} features; train/validation/test rows "
            f"{split['train']}/{split['val']}/{split['test']}; labelled/unlabelled training rows "
            f"{s['train_labelled'][0]}/{s['train_unlabelled'][0]}; seeds "
            f"{', '.join(map(str, s['seeds']))}. Iterations run per HexaGAN variant: "
            f"{', '.join(map(str, s['per_method']['hexagan']['iterations']))}; selected on "
            f"validation F1 at iterations ({selected}).",
            "",
        ]
        parts += [f"- note: {note}" for note in s["notes"]] + ([""] if s["notes"] else [])
        rows = []
        for method, values in s["per_method"].items():
            row = {"method": label(method), **values}
            test = s["tests_f1"].get(method)
            if test is not None:
                row.update(
                    p=test["p_rank_sum"],
                    d=test["cohens_d"],
                    wins=f"{test['hexagan_higher_on']}/{len(s['seeds'])}",
                )
            rows.append(row)
        parts += [common.markdown_table(columns, rows), ""]
    if skipped:
        parts += ["## Not run", ""]
        parts += [f"- {dataset}: {reason}" for dataset, reason in skipped.items()]
        parts.append("")
    return "\n".join(parts)


# --- main ---------------------------------------------------------------------------------------


def write(args, header, runs, skipped) -> None:
    summary = summarise(runs, header["methods"])  # the stored plan, also for --render
    payload = {
        "header": header,
        "skipped": skipped,
        "summary": summary,
        "runs": runs,
    }
    common.write_results(args, payload, markdown(header, summary, skipped))


def main(argv: list[str] | None = None) -> int:
    common.limit_threads()
    warnings.filterwarnings("ignore", module="sklearn")  # MLP/self-training convergence chatter
    args = parse_args(argv)
    if args.render:
        path = args.out / f"{args.name}.json"
        common.rerender(path, lambda header, runs, skipped: write(args, header, runs, skipped))
        print(f"rewrote {path.with_suffix('.md')} from {path}")
        return 0
    started = time.perf_counter()
    header = common.run_header(
        device=args.device,
        seeds=args.seeds,
        iterations=args.iterations,
        argv=None if argv is None else ["benchmarks/classification.py", *argv],
    )
    header.update(
        missing_rate=MISSING_RATE,
        mechanism="mcar",
        label_missing_rate=LABEL_MISSING_RATE,
        imbalance="natural (no subsampling)",
        methods=method_names(args),
        ablation_overrides={name: ABLATIONS[name] for name in args.ablations},
        select_on=SELECT_ON,
        max_rows=args.max_rows,
        quick=args.quick,
        notes=[
            f"features missing: {MISSING_RATE:.0%} MCAR; training labels missing: "
            f"{LABEL_MISSING_RATE:.0%}; imbalance: natural",
            *args.note,
        ],
    )

    return common.run_table(
        args,
        header,
        started,
        plan=lambda dataset: plan_key(dataset, args),
        run=lambda dataset, seed: run_one(dataset, seed, args),
        describe=lambda last: (
            "F1 " + ", ".join(f"{m} {v['f1']:.4f}" for m, v in last["results"].items())
        ),
        write=write,
    )


if __name__ == "__main__":
    raise SystemExit(main())
