"""The fast backend of Algorithm 1, beside the readable one (`hexagan_core.algorithm`).

`build_algorithm` chooses once, when training starts: the closed-form steps (hand-written
gradients, `closed_form.py`) for the configs they support (MLP networks), compiled into
programs with engine='compiled' (`compiled.py`); the autograd `Algorithm` otherwise. The choice
is reported (`Algorithm.name`). `runtime.py` tunes the CPU process for training and checks that
the device can run what was asked.
"""

from __future__ import annotations

import numpy as np
import torch

from hexagan_core.algorithm import Algorithm
from hexagan_core.config import HexaGANConfig
from hexagan_core.engine.closed_form import ClosedFormAlgorithm
from hexagan_core.engine.compiled import compile_steps
from hexagan_core.engine.runtime import check_jacobian_memory

__all__ = ["build_algorithm", "ClosedFormAlgorithm"]


def build_algorithm(configs: list[HexaGANConfig], xs: list[np.ndarray],
                    ys: list[np.ndarray | None], device: torch.device) -> Algorithm:  # fmt: skip
    """Algorithm 1 for K models, on the fastest backend that supports their config (with a
    `DeviceMemoryWarning` first where D_MI's batched Jacobian may not fit on the device)."""
    config = configs[0]
    if not ClosedFormAlgorithm.supports(config):
        if config.engine == "compiled":
            raise ValueError("engine='compiled' needs MLP networks; use engine='eager'.")
        algorithm = Algorithm(configs, xs, ys, device)
    else:
        algorithm = ClosedFormAlgorithm(configs, xs, ys, device)
        if config.engine == "compiled":
            compile_steps(algorithm)
            algorithm.name = "compiled"
    by_row = isinstance(algorithm, ClosedFormAlgorithm) and algorithm.penalty_by_row
    if algorithm.penalised("d_mi") and not config.penalty_projections and not by_row:
        check_jacobian_memory(len(configs), algorithm.batch_rows, algorithm.d, device)
    return algorithm
