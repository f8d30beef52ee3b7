"""The MNIST conditional-generation ablation: train with a change, watch the samples improve.

    HEXAGAN_DATA_DIR=../shared/datasets python benchmarks/mnist_probe.py
        [--preset mnist_paper] [--set FIELD=VALUE ...] [--rows 6000] [--iters 400] [--every 100]
        [--eval-on validation|test] [--seed 0] [--threads 1]

Algorithm 1 on `--rows` of the first 50,000 official training images (half of the pixels and
half of the labels hidden). Every `--every` iterations: the share of 100 samples per digit that a
judge (logistic regression on 10,000 complete training images) labels with their digit (and the
share C labels so, a signal training has without the judge), their
spread (mean over digits of their mean pairwise distance over that of 100 real digits), the
same spread of G_MI(E(x)) for those real digits with half of their pixels hidden (as E sees
them in training: the decoder's variety on the hidden vectors D_CG calls real) and complete, the
imputation RMSE of 2,000 held-out images with half of their pixels removed, C's accuracy on them,
and each loss's mean since the last report. Held-out images: training images 50,000-51,999
(`--eval-on validation`, the default) or the first 2,000 official test images (`--eval-on
test`: what the first probes of BENCHMARKS.md Table 6 used, before we moved them off the test
images; kept to reproduce them). With `GRID=path.png`, a sample grid is saved at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from hexagan_core.config import preset  # noqa: E402
from hexagan_core.data import load_builtin  # noqa: E402
from hexagan_core.draws import latent_noise  # noqa: E402
from hexagan_core.engine import build_algorithm  # noqa: E402
from hexagan_core.quality import SampleJudge, mean_pairwise_distance  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="mnist_paper")
    parser.add_argument("--rows", type=int, default=6000)
    parser.add_argument("--iters", type=int, default=400)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--label-missing", type=float, default=0.5)
    parser.add_argument("--eval-on", choices=("validation", "test"), default="validation")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    common.add_set_option(parser, "latent=normal")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    config = preset(args.preset, seed=args.seed, **common.parse_overrides(args.set, parser))
    dataset = load_builtin("mnist", download=False)
    images, labels = dataset.features.to_numpy(np.float32) / 255.0, dataset.labels
    x, y, rng = common.mnist_training_sample(images, labels, args.rows, 50_000, args.seed,
                                             args.label_missing)  # fmt: skip
    held_out = slice(50_000, 52_000) if args.eval_on == "validation" else slice(60_000, 62_000)
    x_held, y_held = images[held_out], labels[held_out]
    judge = SampleJudge(seed=args.seed).fit(images[:10_000], labels[:10_000])
    print(f"judge accuracy on the held-out images {judge.accuracy(x_held, y_held):.4f}")
    print(json.dumps(config.to_dict()))
    algorithm = build_algorithm([config], [x], [y], torch.device("cpu"))
    model = algorithm.members[0]
    missing = rng.random(x_held.shape) < 0.5

    def evaluate() -> dict:
        algorithm.sync_members()
        model.eval()
        with torch.no_grad():
            generator = torch.Generator("cpu").manual_seed(1)
            agreement, c_agreement, spread, complete_spread = [], [], [], []
            real_distance = {}
            for digit in range(10):
                z = latent_noise(config, 100, model.noise_dim, generator, "cpu")
                samples = model.g_mi(model.generate_hidden(z, torch.eye(10)[[digit] * 100]))
                c_labels = model.classifier(samples).argmax(1).numpy()
                c_agreement.append(float(np.mean(c_labels == digit)))
                samples = samples.numpy()
                agreement.append(float(np.mean(judge.classifier_.predict(samples) == digit)))
                real = x_held[y_held == digit][:100]
                real_distance[digit] = mean_pairwise_distance(real)
                spread.append(mean_pairwise_distance(samples) / real_distance[digit])
                # G_MI(E(x)) of the complete real digits (E only ever sees half of a digit)
                complete = torch.as_tensor(real)
                decoded = model.g_mi(model.encoder(complete, torch.ones_like(complete))).numpy()
                complete_spread.append(mean_pairwise_distance(decoded) / real_distance[digit])
            truth = torch.as_tensor(x_held)
            mask = torch.as_tensor(~missing, dtype=torch.float32)
            fill = config.noise_scale * torch.rand(truth.shape, generator=generator)
            imputed = model.g_mi(model.encoder(mask * truth + (1 - mask) * fill, mask))
            squared = ((imputed - truth) * (1 - mask)) ** 2
            rmse = float(torch.sqrt(squared.sum() / (1 - mask).sum()))
            # G_MI(E(x_tilde, m)), all pixels, of the half-hidden digits: the variety of the
            # decoder on the hidden vectors that D_CG shows G_CG as real
            decoded = imputed.numpy()
            decoded_spread = [
                mean_pairwise_distance(decoded[y_held == digit][:100]) / real_distance[digit]
                for digit in range(10)
            ]
            accuracy = float((model.classifier(truth).argmax(1).numpy() == y_held).mean())
        model.train()
        return {"agree": float(np.mean(agreement)), "c_agree": float(np.mean(c_agreement)),
                "spread": float(np.mean(spread)), "decoded_spread": float(np.mean(decoded_spread)),
                "decoded_complete_spread": float(np.mean(complete_spread)),
                "rmse": rmse, "c_acc": accuracy,
                "per_class": [round(a, 2) for a in agreement]}  # fmt: skip

    start, sums = time.perf_counter(), {}
    for iteration in range(1, args.iters + 1):
        algorithm.schedule(iteration - 1)  # as training does: learning rates, L_MS switched on
        for name, value in algorithm.iteration(algorithm.draw()).items():
            sums[name] = sums.get(name, 0.0) + float(value.detach().mean())
        algorithm.average()  # ema_decay > 0: the evaluated weights are the averages
        if iteration % args.every == 0:
            elapsed = time.perf_counter() - start
            scores = evaluate()
            losses = {name: round(total / args.every, 3) for name, total in sums.items()}
            print(f"it {iteration} {elapsed:.0f}s ({elapsed / iteration:.2f}s/it)",
                  json.dumps(scores), losses, flush=True)  # fmt: skip
            sums = {}
            start += time.perf_counter() - start - elapsed  # evaluation time left out
    if os.environ.get("GRID"):
        _grid(model, config, os.environ["GRID"])


def _grid(model, config, path: str) -> None:
    plt = common.pyplot()
    with torch.no_grad():
        z = latent_noise(config, 8, model.noise_dim, torch.Generator("cpu").manual_seed(5), "cpu")
        fig, axes = plt.subplots(10, 8, figsize=(6, 7.5))
        for digit in range(10):
            samples = model.g_mi(model.generate_hidden(z, torch.eye(10)[[digit] * 8])).numpy()
            for ax, image in zip(axes[digit], samples.reshape(8, 28, 28), strict=True):
                ax.imshow(image, cmap="gray", vmin=0, vmax=1)
                ax.axis("off")
    common.save_figure(fig, path)


if __name__ == "__main__":
    main()
