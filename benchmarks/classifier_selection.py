"""Does choosing C apart (its own checkpoint, by validation log-loss or F1) beat keeping the C
of the imputation checkpoint (chosen by validation RMSE)? And does a decision threshold chosen
on validation F1 beat argmax? A validation-only ablation.

    python benchmarks/classifier_selection.py [--datasets breast wine credit credit-rare]
        [--seeds 11 12] [--iterations N] [--max-rows 3000] [--rules RULE ...] [--quick]
        [--json PATH] [--markdown PATH]

For each dataset and protocol seed (20 % MCAR), the validation rows are split in two halves,
stratified by class: half A is what training reports on and selects with, half B judges the
rules. 'imputation checkpoint': every network, C included, from the report with the best
validation RMSE on A (the rule before). 'C by log-loss' and 'C by F1': the same imputation
networks, and C from the report whose C has the lowest log-loss (or the best F1) on A with
those networks' imputations (`select_classifier`). CPU training is deterministic, so the three
share one trajectory (the first rule's C is that of a run stopped at the imputation
checkpoint). Printed: F1 and ROC-AUC on half B, and the chosen iterations. The C chosen apart
is judged twice: predicting the argmax, and with the decision rule chosen on half A at the end
of training (`decision_rule="val_f1"`: a threshold on the minority class's probability, or
per-class weights; `decision.choose_rule`). `--rules` trains only some of the rules (the
imputation checkpoint's comes from the run of an apart one). The test split is never read.
'credit-rare' is credit with its minority class subsampled to about 3 % (imbalance ratio 32).
--quick: breast, 300 iterations.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
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
APART = RULES[1:]  # the rules that choose C apart, judged with argmax and the tuned rule


def halves(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of two halves of the validation rows, stratified by class."""
    rng = np.random.default_rng(seed)
    first, second = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        first.append(rows[: len(rows) // 2])
        second.append(rows[len(rows) // 2 :])
    return np.sort(np.concatenate(first)), np.sort(np.concatenate(second))


def one_run(name: str, seed: int, iterations: int, max_rows: int,
            rules: tuple[str, ...] = RULES) -> dict:  # fmt: skip
    """Each rule's F1, ROC-AUC and accuracy on half B (`{rule}_tuned`: with the decision rule
    chosen on half A, `{rule}_decision_rule`), the chosen iterations and the class counts."""
    started = time.perf_counter()
    source, ratio = DATASETS.get(name, (name, None))
    dataset = load_builtin(source, max_rows=max_rows, seed=seed)
    experiment = prepare(dataset, missing_rate=0.2, imbalance_ratio=ratio, seed=seed)
    val, train = experiment.val, experiment.train
    select, judge = halves(val.y_true, seed)
    validation = Validation(val.x_input[select], val.x_true[select], val.removed[select],
                            val.y_true[select])  # fmt: skip
    config = preset("default", iterations=iterations, seed=seed)
    minority_share = float(np.bincount(train.y_true).min() / len(train.y_true))
    out: dict = {"minority_share": minority_share,
                 "class_rows": {"select": np.bincount(val.y_true[select]).tolist(),
                                "judge": np.bincount(val.y_true[judge]).tolist()}}  # fmt: skip
    models = {}
    for rule in (rule for rule in APART if rule in rules):
        models[rule] = fit(config, train.x_input, train.y_input, validation=validation,
                           device="cpu", select_best="val_rmse", select_classifier=rule,
                           decision_rule="val_f1")  # fmt: skip
        history = models[rule].history
        out["imputation_iteration"] = max(r["iteration"] for r in history if r.get("best"))
        out[f"{rule}_iteration"] = next(r["iteration"] for r in history
                                        if r.get("best_classifier"))  # fmt: skip
    if RULES[0] in rules:
        models[RULES[0]] = fit(config.replace(iterations=out["imputation_iteration"]),
                               train.x_input, train.y_input, device="cpu")  # fmt: skip
    for rule, model in models.items():
        proba = model.predict_proba(val.x_input[judge], seed=seed)
        out[rule] = metrics.classification_scores(val.y_true[judge], proba)
        if rule in APART:
            tuned = model.decision_rule.predict(proba)
            out[f"{rule}_tuned"] = metrics.classification_scores(val.y_true[judge], proba,
                                                                 y_pred=tuned)  # fmt: skip
            out[f"{rule}_decision_rule"] = model.decision_rule.to_dict()
    out["seconds"] = time.perf_counter() - started
    return out


def describe_rule(saved: dict) -> str:
    """A decision rule in a table cell: 'argmax', 'p(1) > 0.23' or 'weights 1, 0.8, 1.25'."""
    if saved["rule"] == "threshold":
        return f"p({saved['positive']}) > {saved['threshold']:.3f}"
    if saved["rule"] == "weights":
        return "weights " + ", ".join(f"{w:g}" for w in saved["weights"])
    return "argmax"


def markdown(header: dict, results: dict, rules: tuple[str, ...]) -> str:
    """The header and, per dataset, seed and apart rule, argmax against the tuned rule on B."""
    lines = ["# C chosen apart, and its decision rule chosen on validation (issue 14)", "",
             common.header_markdown(header), "",
             "Judged on validation half B; C and the decision rule chosen on half A. Class rows:"
             " labelled validation rows per class in A / B.", "",
             "| dataset | seed | C rule | C it. | class rows A / B | decision rule (on A) | "
             "F1 argmax / **tuned** | accuracy argmax / **tuned** | ROC-AUC | seconds |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for name, runs in results.items():
        for seed, r in runs.items():
            for rule in (rule for rule in APART if rule in rules):
                plain, tuned = r[rule], r[f"{rule}_tuned"]
                rows = " / ".join(str(r["class_rows"][half]) for half in ("select", "judge"))
                lines.append(
                    f"| {name} | {seed} | {rule} | {r[f'{rule}_iteration']} | {rows} | "
                    f"{describe_rule(r[f'{rule}_decision_rule'])} | "
                    f"{plain['f1']:.4f} / **{tuned['f1']:.4f}** | "
                    f"{plain['accuracy']:.4f} / **{tuned['accuracy']:.4f}** | "
                    f"{plain['roc_auc']:.4f} | {r['seconds']:.0f} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=["breast", "wine", "credit",
                                                          "credit-rare"])  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=[11, 12])
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    parser.add_argument("--max-rows", type=int, default=3000)
    parser.add_argument("--rules", nargs="+", choices=RULES, default=list(RULES))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, help="the header and every run's scores")
    parser.add_argument("--markdown", type=Path, help="argmax against the tuned decision rule")
    args = parser.parse_args(argv)
    rules = tuple(rule for rule in RULES if rule in args.rules)
    if not set(rules) & set(APART):
        parser.error(f"--rules needs one of {APART}: the imputation checkpoint comes from its run")
    if args.quick:
        args.datasets, args.seeds, args.iterations = ["breast"], [11], 300
    iterations = args.iterations or preset("default").iterations
    os.environ.setdefault("HEXAGAN_OFFLINE", "1")
    common.limit_threads()
    started = time.perf_counter()
    header = common.run_header(device="cpu", seeds=args.seeds, iterations=iterations,
                               argv=None if argv is None else [__file__, *argv])  # fmt: skip
    results: dict = {}
    print(f"{'dataset':<12}{'seed':>5}{'imp. it':>8}  " + "  ".join(
        f"{rule}: it, F1 (tuned), AUC" for rule in rules))  # fmt: skip
    for name in args.datasets:
        for seed in args.seeds:
            r = one_run(name, seed, iterations, args.max_rows, rules)
            results.setdefault(name, {})[seed] = r
            cells = []
            for rule in rules:
                tuned = f" ({r[f'{rule}_tuned']['f1']:.4f})" if rule in APART else ""
                it = r.get(f"{rule}_iteration", r["imputation_iteration"])
                cells.append(f"{it}, {r[rule]['f1']:.4f}{tuned}, {r[rule]['roc_auc']:.4f}")
            print(f"{name:<12}{seed:>5}{r['imputation_iteration']:>8}  " + "  ".join(cells),
                  flush=True)  # fmt: skip
    common.finish_header(header, started)
    if args.json is not None:
        args.json.write_text(json.dumps({"header": header, "results": results}, indent=2) + "\n",
                             encoding="utf-8")  # fmt: skip
    if args.markdown is not None:
        args.markdown.write_text(markdown(header, results, rules), encoding="utf-8")
    return results


if __name__ == "__main__":
    main()
