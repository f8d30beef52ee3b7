"""Table 1: imputation at 20 % MCAR, HexaGAN against six imputers on identical masks and splits.

    python benchmarks/imputation.py [--datasets breast wine credit madelon] [--seeds 0 1 2 3 4]
        [--methods mean zero knn mice missforest gain] [--iterations N | NAME=N ...]
        [--preset default] [--set FIELD=VALUE ...] [--baseline-param NAME.FIELD=VALUE ...]
        [--max-rows 5000] [--device cpu] [--out DIR]
        [--name imputation] [--note TEXT]
        [--resume] [--render] [--quick]

For each dataset and seed, one `hexagan_core.experiment.run_experiment` call loads the data,
applies the protocol (stratified 65/15/20 split, 20 % of the observed cells removed MCAR, scaler
fitted on the training rows), trains HexaGAN (preset 'default') with the networks selected on the
validation RMSE, and fits every baseline on the same training rows; all are scored on the same
removed test entries. Reported per method: global RMSE, per-row RMSE and MAE (mean ± sample SD
over seeds); HexaGAN's training seconds and selected iteration; for HexaGAN against each method
the Wilcoxon rank-sum p-value and Cohen's d (pooled SD) on the per-seed global RMSEs, and on how
many seeds HexaGAN's RMSE is the lower one (same masks within a seed).

`--max-rows` (default 5000) keeps a class-stratified subsample of a larger dataset (only credit
is larger); offline, madelon is the synthetic Madelon of `hexagan_core.data` (a different draw for
each seed). A dataset that cannot be loaded (credit offline without a local copy) is skipped and
the reason written into the table. `--iterations 300 madelon=200` sets HexaGAN's iterations for
all datasets, or for one; `--preset paper` trains the paper-faithful preset instead of the
default (and `--iterations` then defaults to that preset's length);
`--baseline-param mice.n_nearest_features=50` passes a parameter to one baseline's constructor.
Results go to DIR/NAME.json and DIR/NAME.md after every run, so an interrupted run keeps what
it finished; `--resume` reuses the finished runs of the same plan, and completes a stored run
whose plan differs only in lacking some of `--methods` by fitting just those on the same split
and masks (HexaGAN is not retrained); `--render` only rewrites NAME.md
from NAME.json; `--note` adds a line to the table's header.

--quick (the CI smoke test): breast, seed 0, 100 iterations, mean and kNN; written under the name
'imputation_quick' unless --name is given.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

DATASETS = ("breast", "wine", "credit", "madelon")
LABELS = {
    "hexagan": "HexaGAN (default preset)",
    "mean": "mean",
    "zero": "zero",
    "knn": "kNN (k = 5)",
    "mice": "MICE (BayesianRidge, 10 rounds)",
    "missforest": "MissForest-style (ExtraTrees)",
    "gain": "GAIN (3000 iterations)",
}
METRICS = ("rmse", "rmse_row", "mae", "f1")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from hexagan_core.baselines import IMPUTERS

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(IMPUTERS),
        choices=IMPUTERS,
        help="baselines (HexaGAN always runs)",
    )
    parser.add_argument(
        "--iterations",
        nargs="+",
        default=[],
        help="HexaGAN iterations: N for every dataset, NAME=N for one",
    )
    parser.add_argument("--preset", default="default", choices=("default", "paper", "official"))
    common.add_set_option(parser, "penalty_projections=4; every dataset")
    parser.add_argument(
        "--baseline-param",
        nargs="+",
        default=[],
        metavar="NAME.FIELD=VALUE",
        help="a baseline's constructor parameter (e.g. mice.n_nearest_features=50)",
    )
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "mps", "auto"))
    parser.add_argument("--out", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--name", default=None, help="file stem (default: imputation)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="reuse finished runs of the same plan from DIR/NAME.json",
    )
    parser.add_argument(
        "--note",
        action="append",
        default=[],
        help="a line for the table header (why a dataset was left out)",
    )
    parser.add_argument(
        "--render", action="store_true", help="only rewrite DIR/NAME.md from DIR/NAME.json"
    )
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds, args.methods = ["breast"], [0], ["mean", "knn"]
        args.iterations = args.iterations or ["100"]
    args.name = args.name or ("imputation_quick" if args.quick else "imputation")
    args.iterations = common.parse_iterations(
        args.iterations, args.datasets, DATASETS, preset_name=args.preset
    )
    args.overrides = common.parse_overrides(args.set, parser)
    args.baseline_params = parse_baseline_params(args.baseline_param, args.methods, parser)
    return args


def parse_baseline_params(
    items: list[str], methods: list[str], parser: argparse.ArgumentParser
) -> dict[str, dict[str, Any]]:
    """NAME.FIELD=VALUE items as {name: {field: value}}; a value reads as a Python literal
    (50, 0.5, None) or else as text; each imputer is built once to check its parameters."""
    import ast

    from hexagan_core.baselines import make_imputer

    params: dict[str, dict[str, Any]] = {}
    for item in items:
        target, _, text = item.partition("=")
        name, _, field = target.partition(".")
        if name not in methods or not field or not text:
            parser.error(
                f"--baseline-param expects NAME.FIELD=VALUE with NAME among --methods; got {item!r}"
            )
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            value = text
        params.setdefault(name, {})[field] = value
    for name, given in params.items():
        try:
            make_imputer(name, **given).get_params()
        except ValueError as error:
            parser.error(f"--baseline-param: {error}")
    return params


# --- running ------------------------------------------------------------------------------------


def run_options(dataset: str, seed: int, args: argparse.Namespace) -> Any:
    """The `RunOptions` of one protocol run."""
    from hexagan_core.config import preset
    from hexagan_core.experiment import RunOptions

    return RunOptions(
        data=dataset,
        seed=seed,
        missing_rate=0.2,
        mechanism="mcar",
        preset=args.preset,
        config=preset(args.preset, **args.overrides),
        baselines=list(args.methods),
        baseline_params=dict(args.baseline_params),
        device=args.device,
        max_rows=args.max_rows,
        iterations=args.iterations[dataset],
    )


def run_one(dataset: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One protocol run: HexaGAN and the baselines on one dataset and seed, or, when a stored
    run of the same plan lacks only some methods, that run completed with them."""
    from hexagan_core.experiment import run_experiment

    stored = completable_run(dataset, seed, args)
    if stored is not None:
        return complete_run(stored, dataset, seed, args)
    options = run_options(dataset, seed, args)
    common.seed_everything(seed)
    with common.Stopwatch() as watch:
        report = run_experiment(options).report
    return {
        "dataset": dataset,
        "seed": seed,
        "plan": plan_key(dataset, args),
        "wall_s": watch.seconds,
        "rows": report["rows"],
        "features": report["features"],
        "encoded_features": report["encoded_features"],
        "classes": report["classes"],
        "split_rows": report["split_rows"],
        "notes": report["notes"],
        "iterations": report["iterations"],
        "selected_iteration": report["selected_iteration"],
        "config": report["config"],
        "results": report["results"],
    }


def plan_key(
    dataset: str, args: argparse.Namespace, methods: set[str] | None = None
) -> dict[str, Any]:
    """What must match for --resume to reuse a run (of `methods`, by default --methods)."""
    methods = set(args.methods) if methods is None else methods
    plan = {
        "iterations": args.iterations[dataset],
        "overrides": args.overrides,
        "methods": sorted(methods),
        "max_rows": args.max_rows,
        "device": args.device,
    }
    params = {m: p for m, p in args.baseline_params.items() if m in methods}
    if params:  # absent when empty, as in plans stored before the option
        plan["baseline_params"] = params
    if args.preset != "default":  # likewise
        plan["preset"] = args.preset
    return plan


def completable_run(dataset: str, seed: int, args: argparse.Namespace) -> dict[str, Any] | None:
    """A stored run of (dataset, seed) whose plan is this one's but for fewer methods: its
    HexaGAN and baselines stand, the other methods are added."""
    for stored in args.previous:
        if (stored.get("dataset"), stored.get("seed")) != (dataset, seed):
            continue
        had = set(stored["plan"]["methods"])
        if had < set(args.methods) and stored["plan"] == plan_key(dataset, args, had):
            return stored
    return None


def complete_run(
    stored: dict[str, Any], dataset: str, seed: int, args: argparse.Namespace
) -> dict[str, Any]:
    """`stored` with the missing methods fitted on the same split and masks (checked)."""
    from hexagan_core.experiment import prepare_experiment, score_baselines
    from hexagan_core.model import resolve_device

    options = run_options(dataset, seed, args)
    experiment = prepare_experiment(options)
    split_rows = {
        "train": len(experiment.train.rows),
        "val": len(experiment.val.rows),
        "test": len(experiment.test.rows),
    }
    if split_rows != stored["split_rows"]:
        raise SystemExit(
            f"{dataset} seed {seed}: the stored run's split {stored['split_rows']} differs "
            f"from today's {split_rows}; rerun it without --resume"
        )
    added = [m for m in args.methods if m not in stored["results"]]
    common.seed_everything(seed)
    with common.Stopwatch() as watch:
        scores = score_baselines(options, experiment, added, str(resolve_device(args.device)))
    return {
        **stored,
        "plan": plan_key(dataset, args),
        "wall_s": stored["wall_s"] + watch.seconds,
        "notes": [*stored["notes"], f"{', '.join(added)} added to the stored run"],
        "results": {**stored["results"], **scores},
        "resumed": True,  # HexaGAN was not retrained
    }


# --- summarising --------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    """Per dataset: per-seed values of every metric and method, and HexaGAN-vs-method tests."""
    summary: dict[str, Any] = {}
    for dataset in dict.fromkeys(r["dataset"] for r in runs):
        mine = sorted((r for r in runs if r["dataset"] == dataset), key=lambda r: r["seed"])
        per_method: dict[str, dict[str, list]] = {}
        for method in ["hexagan", *methods]:
            per_method[method] = {
                key: [r["results"][method][key] for r in mine] for key in (*METRICS, "seconds")
            }
        tests = {}
        hexagan_rmse = per_method["hexagan"]["rmse"]
        for method in methods:
            other = per_method[method]["rmse"]
            enough = len(mine) >= 2
            tests[method] = {
                "p_rank_sum": common.wilcoxon_rank_sum(hexagan_rmse, other) if enough else None,
                "cohens_d": common.cohens_d(hexagan_rmse, other) if enough else None,
                "hexagan_lower_on": sum(h < o for h, o in zip(hexagan_rmse, other, strict=True)),
            }
        means = {m: common.mean_std(per_method[m]["rmse"])[0] for m in methods}
        best = min(means, key=means.get) if means else None
        summary[dataset] = {
            "seeds": [r["seed"] for r in mine],
            "rows": mine[0]["rows"],
            "features": mine[0]["features"],
            "encoded_features": mine[0]["encoded_features"],
            "split_rows": mine[0]["split_rows"],
            "notes": mine[0]["notes"],
            "iterations": [r["iterations"] for r in mine],
            "selected_iteration": [r["selected_iteration"] for r in mine],
            "per_method": per_method,
            "tests_rmse": tests,
            "best_baseline": best,
        }
    return summary


def verdict(mean_hexagan: float, mean_other: float, p: float | None) -> str:
    if p is None:
        return "one seed: no test"
    winner = "HexaGAN" if mean_hexagan < mean_other else "baseline"
    return f"{winner} lower, p < 0.05" if p < 0.05 else "no significant difference (p >= 0.05)"


def label(method: str, header: dict[str, Any]) -> str:
    """The method's table label, with the preset or constructor parameters the run gave it."""
    if method == "hexagan":
        return f"HexaGAN ({header.get('preset', 'default')} preset)"
    params = header.get("baseline_params", {}).get(method)
    if not params:
        return LABELS[method]
    return f"{LABELS[method]}, {', '.join(f'{k} = {v}' for k, v in params.items())}"


def markdown(header: dict[str, Any], summary: dict[str, Any], skipped: dict[str, str]) -> str:
    Column = common.Column
    parts = [
        "# Table 1: imputation at 20 % MCAR",
        "",
        common.header_markdown(header),
        "",
        "Protocol: `hexagan_core.experiment.run_experiment` per dataset and seed: stratified "
        "65/15/20 split, 20 % of the observed cells removed completely at random, min-max scaler "
        f"fitted on the training rows. HexaGAN (preset `{header.get('preset', 'default')}`) "
        "keeps the networks with the "
        "best validation RMSE, evaluated every 50 iterations; nothing is selected on the test "
        "split. Every method sees the same masks and splits within a seed and is scored on the "
        "same removed test entries (min-max space). RMSE: global (GAIN's form); per row: mean "
        "of each test row's RMSE (rows with a removed entry); values are mean ± sample SD over "
        "seeds, best mean per column in bold. F1: minority class, from HexaGAN's C or, for a "
        "baseline, an MLP trained on its imputed training rows (all labels known). Seconds: "
        "HexaGAN's training; for a baseline, imputer plus that MLP. p: two-sided Wilcoxon "
        "rank-sum test of HexaGAN's per-seed RMSEs against the method's (normal approximation; "
        "with 5 seeds per side the smallest reachable p is 0.0090); d: Cohen's d = (HexaGAN - "
        "method) / pooled SD, negative when HexaGAN's RMSE is lower; wins: seeds on which "
        "HexaGAN's RMSE is lower (same masks).",
        "",
    ]
    if summary:
        parts += ["## Summary: HexaGAN against the best baseline (lowest mean RMSE)", ""]
        rows = []
        for dataset, s in summary.items():
            best = s["best_baseline"]
            if best is None:
                continue
            test = s["tests_rmse"][best]
            h = common.mean_std(s["per_method"]["hexagan"]["rmse"])[0]
            b = common.mean_std(s["per_method"][best]["rmse"])[0]
            rows.append(
                {
                    "dataset": dataset,
                    "hexagan": s["per_method"]["hexagan"]["rmse"],
                    "best": label(best, header),
                    "best_rmse": s["per_method"][best]["rmse"],
                    "p": test["p_rank_sum"],
                    "d": test["cohens_d"],
                    "wins": f"{test['hexagan_lower_on']}/{len(s['seeds'])}",
                    "verdict": verdict(h, b, test["p_rank_sum"]),
                }
            )
        parts.append(
            common.markdown_table(
                [
                    Column("dataset", "dataset"),
                    Column("HexaGAN RMSE", "hexagan"),
                    Column("best baseline", "best"),
                    Column("its RMSE", "best_rmse"),
                    Column("p", "p"),
                    Column("d", "d", digits=2),
                    Column("HexaGAN lower on", "wins"),
                    Column("verdict", "verdict"),
                ],
                rows,
            )
        )
        parts.append("")
    columns = [
        Column("method", "method"),
        Column("RMSE", "rmse", "min"),
        Column("RMSE (per row)", "rmse_row", "min"),
        Column("MAE", "mae", "min"),
        Column("F1 (minority)", "f1", "max"),
        Column("seconds", "seconds", digits=1),
        Column("p (RMSE)", "p"),
        Column("d (RMSE)", "d", digits=2),
        Column("HexaGAN lower on", "wins"),
    ]
    for dataset, s in summary.items():
        split = s["split_rows"]
        parts += [
            f"## {dataset}",
            "",
            f"{s['rows']} rows, {s['features']} features ({s['encoded_features']} encoded); "
            f"train/validation/test rows {split['train']}/{split['val']}/{split['test']}; "
            f"seeds {', '.join(map(str, s['seeds']))}. HexaGAN iterations run: "
            f"{', '.join(map(str, s['iterations']))}; selected on validation at: "
            f"{', '.join(map(str, s['selected_iteration']))}.",
            "",
        ]
        parts += [f"- note: {note}" for note in s["notes"]] + ([""] if s["notes"] else [])
        rows = []
        for method, values in s["per_method"].items():
            test = s["tests_rmse"].get(method)
            row = {"method": label(method, header), **values}
            if test is not None:
                row.update(
                    p=test["p_rank_sum"],
                    d=test["cohens_d"],
                    wins=f"{test['hexagan_lower_on']}/{len(s['seeds'])}",
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
    summary = summarise(runs, header["methods"][1:])  # the stored plan, also for --render
    payload = {"header": header, "skipped": skipped, "summary": summary, "runs": runs}
    common.write_results(args, payload, markdown(header, summary, skipped))


def main(argv: list[str] | None = None) -> int:
    common.limit_threads()
    warnings.filterwarnings("ignore", module="sklearn")  # MLP/MICE convergence chatter
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
        argv=None if argv is None else ["benchmarks/imputation.py", *argv],
    )
    header["methods"] = ["hexagan", *args.methods]
    header["max_rows"] = args.max_rows
    header["quick"] = args.quick
    header["notes"] = list(args.note)
    header["baseline_params"] = args.baseline_params
    header["preset"] = args.preset
    args.previous = common.load_previous(args.out / f"{args.name}.json", args.resume)

    return common.run_table(
        args,
        header,
        started,
        plan=lambda dataset: plan_key(dataset, args),
        run=lambda dataset, seed: run_one(dataset, seed, args),
        describe=lambda last: (
            f"HexaGAN RMSE {last['results']['hexagan']['rmse']:.4f} (selected at "
            f"{last['selected_iteration']}), "
            + ", ".join(f"{m} {last['results'][m]['rmse']:.4f}" for m in args.methods)
        ),
        write=write,
    )


if __name__ == "__main__":
    raise SystemExit(main())
