"""Train the MNIST model shipped with the product (hexagan_core/pretrained/mnist).

    HEXAGAN_DATA_DIR=../shared/datasets python benchmarks/train_mnist_model.py
        [--preset mnist] [--iterations N] [--rows N] [--seed 0] [--device auto]
        [--set FIELD=VALUE ...] [--out hexagan_core/pretrained/mnist]
    python benchmarks/train_mnist_model.py --figure benchmarks/results/mnist_shipped_samples.png

`pretrained.train_mnist_model`: the official MNIST training images (a random `--rows` of them if
given), half of every image's pixels and half of the labels hidden; networks kept on the
validation images (8 % of the training images), C on its validation F1; scored on the official
10,000 test images (imputation RMSE against kNN's, C's accuracy, judge agreement and spread of
100 samples per digit). Saved without the critics, in float16, with the metrics, this command,
the commit and the machine in model.json's "extra", and a README.md beside the weights.
`--figure PATH`: no training; draws 10 samples per digit of the model in `--out` to PATH.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from hexagan_core.config import preset  # noqa: E402
from hexagan_core.pretrained import SHIPPED_MNIST, train_mnist_model  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="mnist")
    parser.add_argument("--iterations", type=int, default=None, help="default: the preset's")
    parser.add_argument("--rows", type=int, default=None, help="default: all 60,000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=str(SHIPPED_MNIST))
    parser.add_argument("--figure", default=None, help="only draw the samples of --out's model")
    common.add_set_option(parser, "lr_cg=5e-4")
    args = parser.parse_args(argv)
    if args.figure:
        draw_samples(Path(args.out), Path(args.figure), args.seed)
        return {}
    overrides = common.parse_overrides(args.set, parser)
    if args.iterations:
        overrides["iterations"] = args.iterations
    config = preset(args.preset, seed=args.seed, **overrides)
    header = common.run_header(device=args.device, seeds=[args.seed],
                               iterations=config.iterations)  # fmt: skip
    started = time.perf_counter()

    def progress(report: dict) -> None:
        scores = {k: round(v, 4) for k, v in report.items()
                  if k.startswith("val_") and isinstance(v, float)}  # fmt: skip
        print(f"iteration {report['iteration']}/{config.iterations} "
              f"{report['seconds']:.0f} s {scores}", flush=True)  # fmt: skip

    metrics = train_mnist_model(
        config, args.out, rows=args.rows, seed=args.seed, device=args.device, callback=progress,
        extra={"preset": args.preset, "overrides": overrides, "provenance": header},
    )  # fmt: skip
    header["seconds"] = time.perf_counter() - started
    _write_readme(Path(args.out), args.preset, overrides, header, metrics)
    print(json.dumps(metrics, indent=1))
    return metrics


def draw_samples(model_dir: Path, path: Path, seed: int, per_class: int = 10) -> Path:
    """A grid of the saved model's class-conditional samples, one row per digit."""
    from hexagan_core.explore import digit_grid
    from hexagan_core.pretrained import explore_mnist

    result = explore_mnist(model_dir, n_images=600, seed=seed)
    grid = digit_grid(result.model, per_class=per_class, seed=seed, experiment=result.experiment)
    plt = common.pyplot()
    fig, axes = plt.subplots(10, per_class, figsize=(per_class * 0.6, 6.5))
    for digit, row in enumerate(axes):
        for ax, image in zip(row, grid[digit], strict=True):
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax.axis("off")
    fig.suptitle("The shipped model's G_MI(G_CG(z, y)), one row per digit", fontsize=9)
    return common.save_figure(fig, path)


def _write_readme(out: Path, preset_name: str, overrides: dict, header: dict,
                  metrics: dict) -> None:  # fmt: skip
    samples = metrics["samples"]
    lines = [
        "# The shipped MNIST model",
        "",
        "Made by `benchmarks/train_mnist_model.py`; load it with "
        "`hexagan_core.pretrained.explore_mnist()` or `persist.load_pipeline()` (tensors only, "
        "`weights_only=True`). D_MI and D_CG are not stored (they only train); the weights are "
        "float16.",
        "",
        f"- command: `{header['command']}`",
        f"- commit: {header['git_commit']} (uncommitted changes: {header['git_dirty']})"
        + (f"; {header['note']}" if header.get("note") else ""),
        f"- date: {header['date']}; machine: {header['machine']['processor']}, "
        f"{header['machine']['cores']} cores; device: {metrics['device']}; "
        f"torch {header['versions']['torch']}",
        f"- preset `{preset_name}` with {json.dumps(overrides)}; {metrics['iterations']} "
        f"iterations in {metrics['train_seconds']:.0f} s "
        f"({metrics['seconds_per_iteration']:.3f} s per iteration), networks of iteration "
        f"{metrics['selected_iteration']} kept (validation RMSE), C of iteration "
        f"{metrics.get('selected_classifier_iteration')} (validation F1)",
        f"- data: {metrics['train_images']:,} official training images "
        f"({metrics['labelled_train_images']:,} with their label), "
        f"{metrics['validation_images']:,} for validation; {metrics['missing_rate']:.0%} of "
        "the pixels removed at random",
        "",
        "On the official 10,000 test images (half of the pixels removed at random):",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| imputation RMSE (pixel intensity 0-1) | {metrics['test_rmse_pixels']:.4f} |",
        f"| kNN's (k = 5, its neighbours among {metrics['knn_fit_images']:,} training images) | "
        f"{metrics['knn_test_rmse_pixels']:.4f} |",
        f"| C's accuracy / macro F1 | {metrics['test_accuracy']:.4f} / "
        f"{metrics['test_macro_f1']:.4f} |",
        f"| samples the judge labels with their digit ({samples['n_per_class']} per digit) | "
        f"{samples['agreement']:.3f} |",
        f"| spread of the samples / of real test digits (mean over digits) | "
        f"{samples['spread_ratio']:.3f} |",
        f"| the judge's accuracy on real test digits | {samples['judge_accuracy']:.3f} |",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    main()
