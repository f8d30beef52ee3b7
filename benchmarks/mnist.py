"""Table 6 and its figures: MNIST imputation at 50 % missing pixels, samples and classification.

    python benchmarks/mnist.py [--rows 4000] [--iterations 1000] [--imbalance-ratio 10]
        [--label-missing-rate 0.5] [--baselines mean knn] [--select-on val_rmse]
        [--set FIELD=VALUE ...]
        [--seeds 0] [--device cpu] [--out DIR] [--name mnist] [--note TEXT] [--resume]
        [--render] [--quick]

One `run_experiment` call per seed on the built-in MNIST (`load_builtin('mnist')`: the official
IDX files under $HEXAGAN_DATA_DIR/mnist, 70,000 images), preset 'mnist' (the supplement's
convnets, weight clipping instead of the penalty). Protocol: a class-stratified subsample of
`--rows` images (the convnets are slow on a CPU), then `--imbalance-ratio`: the least frequent
digit is subsampled so that the largest class is that many times larger (in every split, as the
protocol applies it before splitting); stratified 65/15/20 split; 50 % of the pixels removed
MCAR; `--label-missing-rate` of the training labels hidden. The "test set" is the protocol's
test split of that subsample, not MNIST's official 10,000 test images.

HexaGAN keeps the networks with the best validation score (`--select-on`, default the validation
imputation RMSE, checked every `eval_every` iterations of the preset). The baselines are
`ClassificationPipeline`s on the same rows: the imputer (fitted on all training rows), then an
MLP on the labelled rows.

Reported, mean ± sample SD over seeds (one seed by default: say so): imputation RMSE on the
removed test pixels as intensities in [0, 1] (pixel / 255) and in the protocol's per-pixel
min-max space, accuracy and macro F1 over the 10 digits on the test rows,
training seconds, iterations run and selected; how recognisable HexaGAN's class-conditional
samples are (`common.sample_agreement`: the share of G_MI(G_CG(z, y)) labelled y by a logistic
regression fitted on the complete training digits, and by HexaGAN's own C; chance 0.1). Figures:
DIR/NAME_samples.png, 10 class-
conditional samples G_MI(G_CG(z, y)) per digit (`HexaGANModel.sample`), and
DIR/NAME_imputation.png, test digits as they are, with the removed pixels, and imputed.

--quick (the CI smoke test): 300 rows, 4 iterations, mean imputation only; written under the
name 'mnist_quick' unless --name is given.
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

MISSING_RATE = 0.5
METRICS = (
    "rmse_pixels", "rmse", "accuracy", "f1", "seconds",
    "samples_judge_agreement", "samples_c_agreement", "judge_test_accuracy",
    "samples_spread_ratio",
)  # fmt: skip
LABELS = {"hexagan": "HexaGAN", "mean": "mean + MLP", "knn": "kNN + MLP"}
PRESETS = ("mnist", "mnist_quick", "mnist_paper")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = common.base_parser(__doc__.split("\n")[0], seeds=(0,))
    parser.add_argument("--rows", type=int, default=4000, help="class-stratified subsample")
    parser.add_argument("--preset", default="mnist", choices=PRESETS)
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    parser.add_argument("--imbalance-ratio", type=float, default=10.0)
    parser.add_argument("--label-missing-rate", type=float, default=0.5)
    parser.add_argument("--baselines", nargs="*", default=["mean", "knn"], choices=("mean", "knn"))
    parser.add_argument("--select-on", default="val_rmse", choices=("val_rmse", "val_f1", "last"))
    common.add_set_option(parser, "cg_penalty=zero_centred, in preset mnist")
    args = parser.parse_args(argv)
    args.overrides = common.parse_overrides(args.set, parser)
    if args.quick:
        args.rows, args.seeds, args.baselines = 300, [0], ["mean"]
        args.iterations = args.iterations or 4
    args.name = args.name or ("mnist_quick" if args.quick else "mnist")
    return args


def plan_key(cell: str, args: argparse.Namespace) -> dict[str, Any]:
    """What must match for --resume to reuse a run."""
    return {
        key: getattr(args, key)
        for key in (
            "rows", "iterations", "imbalance_ratio", "label_missing_rate", "baselines",
            "select_on", "device", "quick", "preset",
        )
    } | ({"overrides": args.overrides} if args.overrides else {})  # fmt: skip


def run_one(cell: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    """One MNIST experiment: HexaGAN and the baselines on the same rows, masks and labels."""
    from hexagan_core import metrics
    from hexagan_core.config import preset
    from hexagan_core.experiment import RunOptions, run_experiment

    overrides = dict(args.overrides)
    if args.quick:
        overrides["eval_every"] = 2  # the preset checks every 100
    options = RunOptions(
        data="mnist",
        seed=seed,
        missing_rate=MISSING_RATE,
        mechanism="mcar",
        label_missing_rate=args.label_missing_rate,
        imbalance_ratio=args.imbalance_ratio,
        preset=args.preset,
        config=preset(args.preset, **overrides),
        iterations=args.iterations,
        device=args.device,
        baselines=list(args.baselines),
        max_rows=args.rows,
        select_on=args.select_on,
    )
    common.seed_everything(seed)
    with common.Stopwatch() as watch:
        result = run_experiment(options)
    experiment = result.experiment
    results = {"hexagan": common.hexagan_record(result)}
    results.update({m: result.report["results"][m] for m in args.baselines})
    # RMSE in pixel intensity (0-1) as well: per-pixel min-max scaling blows up the rare ink of
    # border pixels (a test value of 255 where the training maximum was 20 scales to 12.75).
    to_intensity = intensity(experiment)
    imputed = result.model.impute(experiment.test.x_input, seed=seed)
    test = experiment.test
    results["hexagan"]["rmse_pixels"] = metrics.rmse(
        to_intensity(test.x_true), to_intensity(imputed), test.removed
    )
    baseline_pixels = common.score_imputers(
        experiment, args.baselines, seed, args.device, units=to_intensity
    )
    for name, scores in baseline_pixels.items():
        results[name]["rmse_pixels"] = scores["rmse"]
    results["hexagan"].update(common.sample_agreement(result, seed))
    y_train = experiment.train.y_input
    figures = {}
    if seed == args.seeds[0]:  # the figures show the first seed's model
        figures = {
            "samples": draw_samples(result, args.out / f"{args.name}_samples.png", seed).name,
            "imputation": draw_imputations(
                result, args.out / f"{args.name}_imputation.png", seed
            ).name,
        }
    return {
        "cell": cell,
        "seed": seed,
        "plan": plan_key(cell, args),
        "wall_s": watch.seconds,
        "rows": result.report["rows"],
        "split_rows": result.report["split_rows"],
        "train_labelled_counts": np.bincount(y_train[y_train >= 0], minlength=10).tolist(),
        "train_unlabelled": int((y_train < 0).sum()),
        "test_counts": np.bincount(experiment.test.y_true, minlength=10).tolist(),
        "removed_test_pixels": int(experiment.test.removed.sum()),
        "notes": result.report["notes"],
        "config": result.report["config"],
        "results": results,
        "figures": figures,
    }


# --- figures --------------------------------------------------------------------------------------


def intensity(experiment: Any) -> Any:
    """Scaled rows -> pixel intensities in [0, 1] (the original 0-255 divided by 255)."""
    return lambda x_scaled: experiment.scaler.inverse_transform(np.asarray(x_scaled)) / 255.0


def _pixels(result: Any, x_scaled: np.ndarray) -> np.ndarray:
    """Scaled rows back to 28x28 images in the original pixel units."""
    return result.experiment.scaler.inverse_transform(np.asarray(x_scaled)).reshape(-1, 28, 28)


def draw_samples(result: Any, path: Path, seed: int, per_class: int = 10) -> Path:
    """A grid of class-conditional samples: one row per digit."""
    plt = common.pyplot()
    names = result.experiment.dataset.class_names
    fig, axes = plt.subplots(len(names), per_class, figsize=(per_class * 0.8, len(names) * 0.8))
    for digit, row in enumerate(axes):
        images = _pixels(result, result.model.sample(digit, per_class, seed=seed)[0])
        for ax, image in zip(row, images, strict=True):
            ax.imshow(image, cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(names[digit], rotation=0, labelpad=12)
    fig.suptitle("HexaGAN class-conditional samples G_MI(G_CG(z, y)), one row per class")
    return common.save_figure(fig, path)


def draw_imputations(result: Any, path: Path, seed: int, count: int = 8) -> Path:
    """Test digits: as they are, with the removed pixels blanked, and imputed by HexaGAN."""
    plt = common.pyplot()
    test = result.experiment.test
    rows = np.arange(min(count, len(test.rows)))
    truth = _pixels(result, np.nan_to_num(test.x_true[rows]))
    shown = np.where(np.isnan(test.x_input[rows]), 0.0, test.x_input[rows])
    blanked = _pixels(result, shown)
    imputed = _pixels(result, result.model.impute(test.x_input[rows], seed=seed))
    titles = ("test digit", "50 % of pixels removed", "HexaGAN imputation")
    fig, axes = plt.subplots(3, len(rows), figsize=(len(rows) * 0.9, 3.2))
    for row, images, title in zip(axes, (truth, blanked, imputed), titles, strict=True):
        for ax, image in zip(row, images, strict=True):
            ax.imshow(image, cmap="gray_r")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(title, rotation=0, ha="right", fontsize=8)
    return common.save_figure(fig, path)


# --- table ----------------------------------------------------------------------------------------


def summarise(runs: list[dict[str, Any]], methods: list[str]) -> dict[str, Any]:
    metrics = (*METRICS, "iterations", "selected_iteration", "seconds_to_selected")
    return common.summarise_cells(runs, ["mnist"], methods, metrics).get("mnist", {})


def markdown(header: dict[str, Any], summary: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    Column = common.Column
    parts = [
        "# Table 6: MNIST, 50 % missing pixels, imbalanced and partly labelled",
        "",
        common.header_markdown(header),
        "",
        f"Protocol: class-stratified subsample of {header['rows']} of the 70,000 MNIST images, "
        f"least frequent digit subsampled to imbalance ratio {header['imbalance_ratio']:g}, "
        "stratified 65/15/20 split (the test set is this split, not MNIST's official test "
        f"images), {MISSING_RATE:.0%} of the pixels removed MCAR, "
        f"{header['label_missing_rate']:.0%} of the training labels hidden. HexaGAN: preset "
        f"`{header.get('preset', 'mnist')}`, networks selected on `{header['select_on']}` "
        "(validation split). Baselines: "
        "the imputer fitted on all training rows, then an MLP on the labelled rows "
        "(`ClassificationPipeline`). RMSE: removed test pixels, as intensities in [0, 1] "
        "(pixel / 255; the headline) and in the protocol's per-pixel min-max space (inflated "
        "by border pixels whose training range is tiny); accuracy and "
        "macro F1 over the 10 digits on the test rows. Mean ± sample SD over seeds; bold: best "
        "mean per column.",
        "",
    ]
    if runs:
        first = runs[0]
        counts = ", ".join(f"{d}: {n}" for d, n in enumerate(first["train_labelled_counts"]))
        split = first["split_rows"]
        parts += [
            f"Seed {first['seed']}: {first['rows']} rows after the imbalance step; train/"
            f"validation/test rows {split['train']}/{split['val']}/{split['test']}; labelled "
            f"training rows per digit {counts}; unlabelled training rows "
            f"{first['train_unlabelled']}; removed test pixels {first['removed_test_pixels']}.",
            "",
        ]
    rows = [{"method": LABELS[m], **values} for m, values in summary.items()]
    parts += [
        common.markdown_table(
            [
                Column("method", "method"),
                Column("test RMSE (intensity 0-1)", "rmse_pixels", "min"),
                Column("test RMSE (min-max space)", "rmse", "min"),
                Column("accuracy", "accuracy", "max"),
                Column("macro F1", "f1", "max"),
                Column("seconds", "seconds", digits=0),
                Column("iterations", "iterations", digits=0),
                Column("selected iteration", "selected_iteration", digits=0),
            ],
            rows,
        ),
        "",
    ]
    if "hexagan" in summary:
        judged = summary["hexagan"]
        parts += [
            "Class-conditional samples G_MI(G_CG(z, y)), 100 per digit: share labelled y by a "
            "logistic regression fitted on the complete training digits (its accuracy on the "
            "complete test digits: "
            f"{common.format_cell(judged['judge_test_accuracy'], 3)}): "
            f"**{common.format_cell(judged['samples_judge_agreement'], 3)}**; by HexaGAN's C "
            "(which is trained on such samples): "
            f"{common.format_cell(judged['samples_c_agreement'], 3)}; chance 0.1. Spread: "
            "the samples' mean pairwise distance over that of real test digits, per digit, "
            f"averaged: {common.format_cell(judged.get('samples_spread_ratio'), 3)} (0: every "
            "sample the same).",
            "",
        ]
    figures = runs[0]["figures"] if runs else {}
    if figures:
        parts += [
            f"![class-conditional samples]({figures['samples']})",
            "",
            f"![imputed test digits]({figures['imputation']})",
            "",
        ]
    return "\n".join(parts)


def write(
    args: argparse.Namespace,
    header: dict[str, Any],
    runs: list[dict[str, Any]],
    skipped: dict[str, str],
) -> None:
    summary = summarise(runs, header["methods"])
    payload = {"header": header, "summary": summary, "runs": runs}
    common.write_results(args, payload, markdown(header, summary, runs))


def main(argv: list[str] | None = None) -> int:
    from hexagan_core.config import preset

    common.limit_threads()
    warnings.filterwarnings("ignore", module="sklearn")
    args = parse_args(argv)
    if common.render_or_none(args, write):
        return 0
    reason = common.check_available("mnist", args.rows)
    if reason is not None:
        raise SystemExit(f"mnist: {reason}")
    started = time.perf_counter()
    header = common.run_header(
        device=args.device,
        seeds=args.seeds,
        iterations=args.iterations or preset(args.preset).iterations,
        argv=None if argv is None else ["benchmarks/mnist.py", *argv],
    )
    header.update(
        dataset="mnist",
        preset=args.preset,
        rows=args.rows,
        imbalance_ratio=args.imbalance_ratio,
        label_missing_rate=args.label_missing_rate,
        missing_rate=MISSING_RATE,
        select_on=args.select_on,
        methods=["hexagan", *args.baselines],
        quick=args.quick,
        notes=list(args.note),
    )
    return common.run_sweep(
        args,
        header,
        started,
        cells=["mnist"],
        plan=lambda cell: plan_key(cell, args),
        run=lambda cell, seed: run_one(cell, seed, args),
        describe=lambda last: ", ".join(
            f"{m}: RMSE {v['rmse_pixels']:.4f} (intensity), accuracy {v['accuracy']:.4f}"
            for m, v in last["results"].items()
        ),
        write=write,
    )


if __name__ == "__main__":
    raise SystemExit(main())
