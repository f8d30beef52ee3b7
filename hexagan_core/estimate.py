"""How long training will take, said before it starts: a few iterations timed on the real data.

`estimate_duration` builds the same algorithm `train.fit` would (same backend, device and CPU
threads), runs one untimed iteration (the first one allocates) and then times a few, at most
`probe_iterations` and stopping early once `max_probe_seconds` have passed, so that slow
iterations (the MNIST convnets) do not make the estimate itself slow. The networks it trains
are thrown away. Validation reports and baselines are not included: they are a small part of a
run on tabular data.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from hexagan_core.config import HexaGANConfig
from hexagan_core.device import resolve_device
from hexagan_core.engine import build_algorithm
from hexagan_core.engine.runtime import cpu_threads
from hexagan_core.ensemble import member_configs
from hexagan_core.train import check_training_data

__all__ = ["DurationEstimate", "estimate_duration"]


@dataclass(frozen=True)
class DurationEstimate:
    """The estimated seconds of a whole training, and what they were measured on."""

    seconds: float
    iterations: int
    """The iterations the estimate covers (the config's, warm-up included)."""
    probed: int
    """The iterations timed."""

    def __str__(self) -> str:
        """'about 2 min 30 s for 10,000 iterations (timed on 20)'."""
        return (
            f"about {_duration_text(self.seconds)} for {self.iterations:,} iterations "
            f"(timed on {self.probed})"
        )


def estimate_duration(
    config: HexaGANConfig,
    x: np.ndarray,
    y: np.ndarray | None = None,
    *,
    device: str = "auto",
    probe_iterations: int = 20,
    max_probe_seconds: float = 2.0,
) -> DurationEstimate:
    """The time `train.fit(config, x, y, device=device)` will take, from timed iterations.

    `x` and `y` as `train.fit` takes them (min-max scaled, NaN = missing; -1 = unlabelled). At
    least two iterations are timed, at most `probe_iterations` and no more than training runs.
    """
    if probe_iterations < 2:
        raise ValueError(f"probe_iterations must be at least 2. Got {probe_iterations!r}.")
    config = config.validate()
    x, y = check_training_data(x, y)
    iterations = config.pretrain_iterations + config.iterations
    limit = max(2, min(probe_iterations, iterations))
    torch_device = resolve_device(device)
    members = member_configs(config)  # n_imputations models train together: time them all
    with cpu_threads(torch_device, config):
        algorithm = build_algorithm(members, [x] * len(members), [y] * len(members), torch_device)
        algorithm.iteration(algorithm.draw(), False)  # untimed: the first iteration allocates
        _synchronise(torch_device)
        start = time.perf_counter()
        probed = 0
        while probed < limit and (
            probed < 2 or time.perf_counter() - start < max_probe_seconds
        ):
            algorithm.iteration(algorithm.draw(), False)
            probed += 1
        _synchronise(torch_device)
        per_iteration = (time.perf_counter() - start) / probed
    return DurationEstimate(per_iteration * iterations, iterations, probed)


def _synchronise(device: torch.device) -> None:
    """Wait for the device's queued work, so that the clock measures it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _duration_text(seconds: float) -> str:
    """'40 s', '2 min 30 s', '1 h 5 min': to the second, the 10 s or the minute, by length."""
    if math.ceil(seconds) < 60:
        return f"{max(1, math.ceil(seconds))} s"
    rounded = round(seconds / 10) * 10
    if rounded < 3600:
        minutes, rest = divmod(rounded, 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
