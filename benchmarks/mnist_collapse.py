"""Why G_CG collapsed on MNIST: how many of its ReLUs are switched off, iteration by iteration.

    HEXAGAN_DATA_DIR=../shared/datasets python benchmarks/mnist_collapse.py
        [--preset mnist_paper] [--set FIELD=VALUE ...] [--rows 6000] [--iterations 150]
        [--every 25] [--seed 0]

Trains Algorithm 1 on `--rows` official MNIST training images (half of the pixels and half of
the labels hidden) and, at iteration 0 and every `--every` iterations, feeds G_CG 200 noise
vectors (20 per digit) and reports, per hidden layer and for the output: the share of units
active (> 0) over those inputs, the share of units dead (active for none of them), and how much
the output varies with z (mean over units of the standard deviation across inputs). A G_CG whose
output no longer varies with z or y gives the same sample for every z and every y.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import common  # noqa: E402
from hexagan_core.data import load_builtin  # noqa: E402
from hexagan_core.draws import latent_noise  # noqa: E402
from hexagan_core.engine import build_algorithm  # noqa: E402


def layer_activity(g_cg: torch.nn.Module, z: torch.Tensor, y: torch.Tensor) -> list[dict]:
    """Per activation of G_CG (hidden layers, then the output): active share, dead share, and
    the mean standard deviation of the units across the inputs."""
    values, out = torch.cat([y, z], dim=1), []
    for layer in g_cg.net:
        values = layer(values)
        if isinstance(layer, torch.nn.ReLU | torch.nn.LeakyReLU):
            active = values > 0
            out.append({
                "active": float(active.float().mean()),
                "dead": float((~active.any(dim=0)).float().mean()),
                "std_over_inputs": float(values.std(dim=0).mean()),
            })  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> list[dict]:
    args, config = common.mnist_training_run(__doc__, "mnist_paper", 6000, 150, 25,
                                             "latent=normal", argv)  # fmt: skip
    dataset = load_builtin("mnist", download=False)
    images = dataset.features.to_numpy(np.float32) / 255.0
    x, y, _ = common.mnist_training_sample(images, dataset.labels, args.rows,
                                           min(60_000, len(images)), args.seed)  # fmt: skip
    algorithm = build_algorithm([config], [x], [y], torch.device("cpu"))
    g_cg = algorithm.members[0].g_cg
    generator = torch.Generator("cpu").manual_seed(args.seed)
    z = latent_noise(config, 200, algorithm.members[0].noise_dim, generator, "cpu")
    labels = torch.eye(10)[torch.arange(200) % 10]
    print(f"preset {args.preset} {args.set or ''}: G_CG layers (hidden..., output)")
    log = []
    for iteration in range(args.iterations + 1):
        if iteration:
            algorithm.iteration(algorithm.draw())
        if iteration % args.every:
            continue
        algorithm.sync_members()
        with torch.no_grad():
            layers = layer_activity(g_cg, z, labels)
        log.append({"iteration": iteration, "layers": layers})
        print(f"iteration {iteration:4d}: " + " | ".join(
            f"active {a['active']:.3f} dead {a['dead']:.3f} sd {a['std_over_inputs']:.3f}"
            for a in layers), flush=True)  # fmt: skip
    return log


if __name__ == "__main__":
    main()
