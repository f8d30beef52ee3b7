"""Why G_MI writes the mean digit for the first few hundred MNIST iterations, and the start
that avoids it (`g_mi_output`).

    HEXAGAN_DATA_DIR=../shared/datasets python benchmarks/mnist_decoder_start.py
        [--preset mnist_quick] [--set FIELD=VALUE ...] [--rows 5000] [--iterations 200]
        [--every 20] [--seed 0]

Trains Algorithm 1 on `--rows` of the first 50,000 official training images (half of the
pixels hidden, every label known) and every `--every` iterations reports, for 500 validation
images (training images 50,000-50,499) with half of their pixels hidden: the share of G_MI's
last-deconvolution outputs that are > 0 (what its ReLU, with g_mi_output='relu', lets through
to FC(784)), the share of E's hidden units > 0, the imputation RMSE of the hidden pixels, and
how much G_MI's output varies between images (mean over pixels of its SD across images; about
0 when G_MI writes one image, the mean digit, whatever its input).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from hexagan_core.data import load_builtin  # noqa: E402
from hexagan_core.engine import build_algorithm  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    args, config = common.mnist_training_run(__doc__, "mnist_quick", 5000, 200, 20,
                                             "g_mi_output=mean_start", argv)  # fmt: skip
    dataset = load_builtin("mnist", download=False)
    images, labels = dataset.features.to_numpy(np.float32) / 255.0, dataset.labels
    x, y, rng = common.mnist_training_sample(images, labels, args.rows, 50_000, args.seed, 0.0)
    truth = torch.as_tensor(images[50_000:50_500])
    mask = torch.as_tensor(rng.random(truth.shape) >= 0.5, dtype=torch.float32)
    algorithm = build_algorithm([config], [x], [y], torch.device("cpu"))
    model = algorithm.members[0]
    print(f"g_mi_output={config.g_mi_output!r}, seed {args.seed}")
    print("iteration | seconds | last deconvolution > 0 | E's hidden > 0 | RMSE | output SD")
    start = time.perf_counter()
    for iteration in range(1, args.iterations + 1):
        algorithm.schedule(iteration - 1)
        algorithm.iteration(algorithm.draw())
        algorithm.average()
        if iteration % args.every:
            continue
        algorithm.sync_members()
        with torch.no_grad():
            hidden = model.encoder(mask * truth, mask)
            deconvolved = model.g_mi.deconvs[:5](hidden.view(-1, 128, 4, 4))
            imputed = model.g_mi(hidden)
        rmse = torch.sqrt((((imputed - truth) * (1 - mask)) ** 2).sum() / (1 - mask).sum())
        print(f"{iteration} | {time.perf_counter() - start:.0f} | "
              f"{float((deconvolved > 0).float().mean()):.3f} | "
              f"{float((hidden > 0).float().mean()):.3f} | {float(rmse):.4f} | "
              f"{float(imputed.std(0).mean()):.4f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
