"""Table 4 and its figure: learning curves of HexaGAN variants on breast (supplement, Fig. 1).

    python benchmarks/learning_curves.py [--variants default wgan_gp weight_clip adam gain_loss]
        [--seeds 0 1 2 3 4] [--iterations N] [--without-recon] [--dataset breast]
        [--device cpu] [--out DIR] [--name learning_curves] [--note TEXT] [--resume] [--render]
        [--quick]

Each variant is preset 'default' with one change (given as `RunOptions.config`):
- default: zero-centred penalty on D_MI, RMSProp, HexaGAN's element-wise Wasserstein loss;
- wgan_gp: penalty = 'wgan_gp' (Gulrajani et al.'s one-centred penalty);
- weight_clip: penalty = 'weight_clip' (Arjovsky et al., clip 0.01);
- adam: optimizer = 'adam';
- gain_loss: adversarial_loss = 'gain' (GAIN's cross-entropy loss instead of HexaGAN's).

For each variant and seed, `run_experiment` applies Table 1's protocol (stratified 65/15/20
split, 20 % of the observed cells removed MCAR) with the same seed, hence the same masks for
every variant. The curve is the validation RMSE that `fit` records every 50 iterations in
`model.history` (validation rows only); the test RMSE is that of the networks selected on the
best validation RMSE. The supplement drops L_recon for this figure; `--without-recon` does the
same (alpha1 = 0 for every variant), the default keeps it (alpha1 = 10, as trained elsewhere).

Reported: test RMSE at the selected iteration, best and last validation RMSE, the rise from the
best to the last (how far a curve drifts away from its best: instability), the selected
iteration and training seconds, mean ± sample SD over seeds; each variant against 'default'
(rank-sum p, wins). The figure (DIR/NAME.png) plots the mean validation RMSE (± SD band)
against the iteration: (a) the critic regularisers, (b) the optimiser and the adversarial loss.

--quick (the CI smoke test): seed 0, 100 iterations; written under 'learning_curves_quick'.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    "wgan_gp": {"penalty": "wgan_gp"},
    "weight_clip": {"penalty": "weight_clip"},
    "adam": {"optimizer": "adam"},
    "gain_loss": {"adversarial_loss": "gain"},
}
LABELS = {
    "default": "default (zero-centred penalty, RMSProp, HexaGAN loss)",
    "wgan_gp": "WGAN-GP penalty",
    "weight_clip": "weight clipping (0.01)",
    "adam": "Adam instead of RMSProp",
    "gain_loss": "GAIN's adversarial loss",
}
PANELS = (
    ("(a) critic regulariser", ("default", "wgan_gp", "weight_clip")),
    ("(b) optimiser and adversarial loss", ("default", "adam", "gain_loss")),
)
MISSING_RATE = 0.2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = common.base_parser(__doc__.split("\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--dataset", default="breast", choices=("breast", "wine", "credit"))
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    parser.add_argument("--max-rows", type=int, default=5000)
    parser.add_argument(
        "--without-recon", action="store_true", help="alpha1 = 0 for every variant (supplement)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds = [0]
        args.iterations = args.iterations or 100
    if "default" not in args.variants:
        args.variants.insert(0, "default")  # the reference of every comparison
    args.name = args.name or ("learning_curves_quick" if args.quick else "learning_curves")
    return args


def overrides(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    return {**VARIANTS[variant], **({"alpha1": 0.0} if args.without_recon else {})}


def plan_key(cell: str, args: argparse.Namespace) -> dict[str, Any]:
    """What must match for --resume to reuse a run."""
    return {
        "dataset": args.dataset,
        "overrides": overrides(cell, args),
        "iterations": args.iterations,
        "max_rows": args.max_rows,
        "device": args.device,
    }


def run_one(cell: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One variant on one seed: its validation curve and its selected networks' test RMSE."""
    from hexagan_core.config import preset
    from hexagan_core.experiment import RunOptions, run_experiment

    options = RunOptions(
        data=args.dataset,
        seed=seed,
        missing_rate=MISSING_RATE,
        mechanism="mcar",
        device=args.device,
        max_rows=args.max_rows,
        iterations=args.iterations,
        config=preset("default", **overrides(cell, args)),
        select_on="val_rmse",
    )
    common.seed_everything(seed)
    with common.Stopwatch() as watch:
        result = run_experiment(options)
    record = common.hexagan_record(result)
    curve = common.validation_curve(result.model.history, "val_rmse")
    record.update(best_val_rmse=min(curve["val_rmse"]), last_val_rmse=curve["val_rmse"][-1])
    record["drift"] = record["last_val_rmse"] - record["best_val_rmse"]
    return {
        "cell": cell,
        "seed": seed,
        "plan": plan_key(cell, args),
        "wall_s": watch.seconds,
        "split_rows": result.report["split_rows"],
        "notes": result.report["notes"],
        "config": result.report["config"],
        "curve": curve,
        "results": {"hexagan": record},
    }


# --- tables and figure ---------------------------------------------------------------------------

METRICS = ("rmse", "best_val_rmse", "last_val_rmse", "drift", "selected_iteration", "seconds")


def summarise(runs: list[dict[str, Any]], variants: list[str]) -> dict[str, Any]:
    summary = {
        cell: per_method["hexagan"]
        for cell, per_method in common.summarise_cells(runs, variants, ["hexagan"], METRICS).items()
    }
    if "default" in summary:
        reference = summary["default"]["rmse"]
        for cell, values in summary.items():
            if cell != "default" and len(values["rmse"]) == len(reference):
                values["vs_default"] = common.compare(
                    values["rmse"], reference, lower_is_better=True
                )
    return summary


def mean_curves(
    runs: list[dict[str, Any]], variant: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Iterations, mean and SD of the validation RMSE over the seeds of one variant."""
    curves = [r["curve"] for r in runs if r["cell"] == variant]
    length = min(len(c["iteration"]) for c in curves)  # equal unless a run was cut short
    values = np.array([c["val_rmse"][:length] for c in curves])
    std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(length)
    return np.array(curves[0]["iteration"][:length]), values.mean(axis=0), std


def plot(runs: list[dict[str, Any]], variants: list[str], path: Path, title: str) -> Path:
    plt = common.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, (panel, members) in zip(axes, PANELS, strict=True):
        for variant in members:
            if variant not in variants or not any(r["cell"] == variant for r in runs):
                continue
            iterations, mean, std = mean_curves(runs, variant)
            (line,) = ax.plot(iterations, mean, label=LABELS[variant])
            ax.fill_between(iterations, mean - std, mean + std, color=line.get_color(), alpha=0.2)
        ax.set_title(panel)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("validation RMSE (mean ± SD over seeds)")
    fig.suptitle(title)
    return common.save_figure(fig, path)


def markdown(header: dict[str, Any], summary: dict[str, Any], figure: str | None) -> str:
    Column = common.Column
    recon = "without L_recon (alpha1 = 0)" if header["without_recon"] else "with L_recon"
    parts = [
        f"# Table 4: learning curves on {header['dataset']}, 20 % MCAR, {recon}",
        "",
        common.header_markdown(header),
        "",
        "Protocol: Table 1's (`run_experiment`, stratified 65/15/20 split, 20 % of the observed "
        "cells removed MCAR), the same masks for every variant of a seed. Each variant is "
        "preset `default` with one change. Curves: validation RMSE every 50 iterations from "
        "`model.history` (validation rows only). Test RMSE: the networks with the best "
        "validation RMSE. Drift: last minus best validation RMSE (0 when a curve ends at its "
        "best). Mean ± sample SD over seeds; bold: best mean per column. p: two-sided Wilcoxon "
        "rank-sum test of the variant's per-seed test RMSEs against the default's; wins: seeds "
        "on which the variant's test RMSE is lower than the default's.",
        "",
    ]
    if figure:
        parts += [f"![validation RMSE against iteration]({figure})", ""]
    rows = []
    for variant, values in summary.items():
        test = values.get("vs_default", {})
        rows.append(
            {
                "variant": LABELS[variant],
                "n": str(len(values["seeds"])),
                **{k: values[k] for k in METRICS},
                "p": test.get("p_rank_sum"),
                "wins": test.get("wins"),
            }
        )
    columns = [
        Column("variant", "variant"),
        Column("seeds", "n"),
        Column("test RMSE (selected)", "rmse", "min"),
        Column("best val RMSE", "best_val_rmse", "min"),
        Column("last val RMSE", "last_val_rmse", "min"),
        Column("drift", "drift", "min"),
        Column("selected iteration", "selected_iteration", digits=0),
        Column("seconds", "seconds", digits=1),
        Column("p vs default", "p"),
        Column("lower than default on", "wins"),
    ]
    parts += [common.markdown_table(columns, rows), ""]
    return "\n".join(parts)


def write(
    args: argparse.Namespace,
    header: dict[str, Any],
    runs: list[dict[str, Any]],
    skipped: dict[str, str],
) -> None:
    variants = header["variants"]
    summary = summarise(runs, variants)
    figure = None
    if runs:
        seeds = len({r["seed"] for r in runs})
        title = f"{header['dataset']}, 20 % MCAR: validation RMSE ({seeds} seed(s))"
        figure = plot(runs, variants, args.out / f"{args.name}.png", title).name
    payload = {"header": header, "summary": summary, "runs": runs}
    common.write_results(args, payload, markdown(header, summary, figure))


def main(argv: list[str] | None = None) -> int:
    common.limit_threads()
    warnings.filterwarnings("ignore", module="sklearn")
    args = parse_args(argv)
    if common.render_or_none(args, write):
        return 0
    started, header = common.start_sweep(args, "learning_curves.py", argv)
    header.update(
        dataset=args.dataset,
        variants=args.variants,
        overrides={v: overrides(v, args) for v in args.variants},
        without_recon=args.without_recon,
        missing_rate=MISSING_RATE,
        quick=args.quick,
        notes=list(args.note),
    )
    return common.run_sweep(
        args,
        header,
        started,
        cells=args.variants,
        plan=lambda cell: plan_key(cell, args),
        run=lambda cell, seed: run_one(cell, seed, args),
        describe=lambda last: (
            f"test RMSE {last['results']['hexagan']['rmse']:.4f}, best val "
            f"{last['results']['hexagan']['best_val_rmse']:.4f} at "
            f"{last['results']['hexagan']['selected_iteration']}"
        ),
        write=write,
    )


if __name__ == "__main__":
    raise SystemExit(main())
