"""The fast backend of Algorithm 1, beside the readable one (`hexagan_core.algorithm`).

`build_algorithm` chooses once, when training starts: the closed-form steps (hand-written
gradients, `closed_form.py`) for the configs they support (MLP networks), compiled into
programs with engine='compiled' (`compiled.py`); the autograd `Algorithm` otherwise. The choice
is reported (`Algorithm.name`). `runtime.py` tunes the CPU process for training.
"""

from __future__ import annotations

import numpy as np
import torch

from hexagan_core.algorithm import Algorithm
from hexagan_core.config import HexaGANConfig
from hexagan_core.engine.closed_form import ClosedFormAlgorithm
from hexagan_core.engine.compiled import compile_steps

__all__ = ["build_algorithm", "ClosedFormAlgorithm"]


def build_algorithm(configs: list[HexaGANConfig], xs: list[np.ndarray],
                    ys: list[np.ndarray | None], device: torch.device) -> Algorithm:  # fmt: skip
    """Algorithm 1 for K models, on the fastest backend that supports their config."""
    config = configs[0]
    if not ClosedFormAlgorithm.supports(config):
        if config.engine == "compiled":
            raise ValueError("engine='compiled' needs MLP networks; use engine='eager'.")
        return Algorithm(configs, xs, ys, device)
    algorithm = ClosedFormAlgorithm(configs, xs, ys, device)
    if config.engine == "compiled":
        compile_steps(algorithm)
        algorithm.name = "compiled"
    return algorithm
