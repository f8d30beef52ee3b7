"""Table 7: HexaGAN's training cost behind every table, collected from the tables' JSON results.

    python benchmarks/training_cost.py [--results DIR] [--out DIR] [--name training_cost]
        [--update-benchmarks BENCHMARKS.md]

Reads DIR/<table>.json for each entry of TABLES (a missing file is listed as not run) and, for
every HexaGAN variant of every table (the default model, each ablation, each missing rate, each
sensitivity setting), summarises over its seeds: the iterations run, the iteration selected on
the validation split (the one whose networks give the table's numbers), the training seconds,
the training seconds at which the selected iteration was reached (recorded by the scripts of
Tables 3-6; not stored by Tables 1-2) and the seconds per 1,000 iterations; plus each table's
device, torch threads, machine load at its start and total wall time. Writes DIR/NAME.md and
DIR/NAME.json; with `--update-benchmarks` it also replaces the text between the markers
`<!-- table7:start -->` and `<!-- table7:end -->` in that file. Nothing is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

# (table, file stem in benchmarks/results) in the order of BENCHMARKS.md.
TABLES = (
    ("Table 1", "imputation_default_v3"),
    ("Table 1 (madelon)", "imputation_madelon"),
    ("Table 1 (paper preset)", "imputation_paper"),
    ("Table 2", "classification"),
    ("Table 3", "missing_rate"),
    ("Table 4", "learning_curves"),
    ("Table 4 (no L_recon)", "learning_curves_no_recon"),
    ("Table 5", "sensitivity"),
    ("Table 6", "mnist"),
)
START, END = "<!-- table7:start -->", "<!-- table7:end -->"


def hexagan_runs(payload: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(dataset, variant, cost) for every HexaGAN training stored in a table's JSON.

    A result counts as a HexaGAN training when it is 'hexagan' or carries a selected iteration
    (the ablations of Table 2). Tables 1-2 keep iterations per run or per result; Tables 3-6
    name each setting in "cell".
    """
    header = payload.get("header", {})
    for run in payload.get("runs", []):
        dataset = run.get("dataset") or header.get("dataset", "?")
        for method, result in run["results"].items():
            if method != "hexagan" and "selected_iteration" not in result:
                continue
            variant = method
            if "cell" in run:
                variant = run["cell"] if method == "hexagan" else f"{run['cell']} {method}"
            yield (
                dataset,
                variant,
                {
                    "seconds": result.get("seconds"),
                    "iterations": result.get("iterations", run.get("iterations")),
                    "selected_iteration": result.get(
                        "selected_iteration", run.get("selected_iteration")
                    ),
                    "seconds_to_selected": result.get("seconds_to_selected"),
                },
            )


def summarise_table(table: str, stem: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (dataset, variant): per-seed lists of each cost, in run order."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for dataset, variant, cost in hexagan_runs(payload):
        row = rows.setdefault(
            (dataset, variant),
            {"table": table, "file": stem, "dataset": dataset, "variant": variant},
        )
        for key, value in cost.items():
            row.setdefault(key, []).append(value)
    for row in rows.values():
        per_thousand = [
            1000 * s / n
            for s, n in zip(row["seconds"], row["iterations"], strict=True)
            if s is not None and n
        ]
        row["seconds_per_1000"] = per_thousand
        row["n"] = str(len(row["seconds"]))
    return list(rows.values())


def table_facts(table: str, stem: str, header: dict[str, Any]) -> dict[str, Any]:
    load = header.get("machine", {}).get("load_average_at_start")
    return {
        "table": table,
        "file": f"{stem}.json",
        "device": f"{header.get('device', '?')}, {header.get('torch_threads', '?')} thread(s)",
        "load": None if not load else load[0],
        "date": header.get("date", "?"),
        "wall_s": header.get("wall_s"),
        "resumed": header.get("resumed_runs", 0),
        "runs": None,
    }


def collect(results: Path) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    tables: list[dict[str, Any]] = []
    missing: list[str] = []
    for table, stem in TABLES:
        path = results / f"{stem}.json"
        if not path.exists():
            missing.append(f"{table} ({stem}.json)")
            continue
        payload = json.loads(path.read_text("utf-8"))
        mine = summarise_table(table, stem, payload)
        facts = table_facts(table, stem, payload.get("header", {}))
        facts["runs"] = str(sum(len(r["seconds"]) for r in mine))
        rows += mine
        tables.append(facts)
    return {"rows": rows, "tables": tables, "missing": missing}


def _range(values: list[Any]) -> str:
    kept = [v for v in values if v is not None]
    if not kept:
        return "–"
    low, high = min(kept), max(kept)
    return f"{low}" if low == high else f"{low}-{high}"


def markdown(collected: dict[str, Any]) -> str:
    Column = common.Column
    rows = [
        {
            **row,
            "iterations_text": _range(row["iterations"]),
            "selected_text": _range(row["selected_iteration"]),
            "reached": row["seconds_to_selected"]
            if any(v is not None for v in row["seconds_to_selected"])
            else "not recorded",
        }
        for row in collected["rows"]
    ]
    parts = [
        common.markdown_table(
            [
                Column("table", "table"),
                Column("dataset", "dataset"),
                Column("HexaGAN variant / setting", "variant"),
                Column("seeds", "n"),
                Column("iterations run", "iterations_text"),
                Column("selected iteration (validation)", "selected_text"),
                Column("training s", "seconds", digits=1),
                Column("s to selected iteration", "reached", digits=1),
                Column("s per 1000 iterations", "seconds_per_1000", digits=1),
            ],
            rows,
        ),
        "",
        common.markdown_table(
            [
                Column("table", "table"),
                Column("results file", "file"),
                Column("device", "device"),
                Column("load at start", "load", digits=2),
                Column("date (UTC)", "date"),
                Column("HexaGAN trainings", "runs"),
                Column("of them resumed from an earlier run", "resumed", digits=0),
                Column("last run's wall time s (HexaGAN + baselines)", "wall_s", digits=0),
            ],
            collected["tables"],
        ),
    ]
    if collected["missing"]:
        parts += ["", "Not run (no results file): " + "; ".join(collected["missing"]) + "."]
    return "\n".join(parts)


def update_between_markers(path: Path, text: str) -> None:
    """Replace what lies between the Table 7 markers of `path` with `text`."""
    document = path.read_text("utf-8")
    start, end = document.find(START), document.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: markers {START} ... {END} not found")
    path.write_text(document[: start + len(START)] + "\n" + text + "\n" + document[end:], "utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=Path, default=common.RESULTS_DIR)
    parser.add_argument("--out", type=Path, default=None, help="default: --results")
    parser.add_argument("--name", default="training_cost")
    parser.add_argument("--update-benchmarks", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or args.results
    collected = collect(args.results)
    text = markdown(collected)
    common.dump_json(out / f"{args.name}.json", collected)
    (out / f"{args.name}.md").write_text("# Table 7: training cost\n\n" + text + "\n", "utf-8")
    if args.update_benchmarks is not None:
        update_between_markers(args.update_benchmarks, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
