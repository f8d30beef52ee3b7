"""Which torch device a run gets, and what to say when a device cannot serve it.

- `resolve_device` maps a name ('auto', 'cpu', 'cuda', 'cuda:N' or 'mps') to a device. An
  accelerator asked for by name that is not here is an error, never a quiet switch to the CPU.
- `choose_device` is what 'auto' trains a model on: the device that is faster for the model at
  hand (the rule is `AUTO_GPU_MIN_WORK`'s), with the reason in words; `model_device` applies it.
- `out_of_memory_message` turns an out-of-memory error into one line.

Seeds reproduce per device type. The initial weights are drawn on the CPU, the same on every
device, but the random draws of training and imputation come from the device's own generator
(CUDA's is Philox, the CPU's a Mersenne Twister) and kernels sum in other orders: a seed gives
the same numbers on the CPU every time, and other numbers on a GPU. To reproduce a CPU run on a
GPU machine, ask for device 'cpu'.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import torch

from hexagan_core.config import HexaGANConfig
from hexagan_core.validation import Matches

__all__ = [
    "AUTO_GPU_MIN_WORK",
    "DEVICE_NAME",
    "DeviceChoice",
    "accelerator",
    "choose_device",
    "devices_here",
    "is_device_name",
    "model_device",
    "out_of_memory_message",
    "resolve_device",
]

_NAMES = "'auto', 'cpu', 'cuda', 'cuda:N', 'mps'"
_CUDA_INDEX = re.compile(r"cuda:(\d+)")

AUTO_GPU_MIN_WORK = 64**2
"""'auto' trains an MLP model on the accelerator from this much work per row and layer,
K * d^2 (K models of d features trained together: d x d layers, stacked), and on the CPU below
it. Provisional until measured: tiny tabular networks are bound by the cost of each call (a GPU
kernel launch takes about 5-10 us, a small CPU operation about 5 us), so the CPU wins until the
arithmetic per call outweighs that; the threshold, one model of 64 features or 8 of 23, is an
estimate. `benchmarks/speed.py --sections devices` (run by `benchmarks/device_check.sh`) times
both devices on both sides of it and says whether this rule picked the faster one."""

class DeviceChoice(NamedTuple):
    """A device and why it was chosen, in words a user reads ('auto' on the Train page)."""

    device: torch.device
    reason: str


def is_device_name(name: object) -> bool:
    """Whether `name` is a device name this package accepts (whether or not it is here)."""
    return isinstance(name, str) and (
        name in ("auto", "cpu", "cuda", "mps") or _CUDA_INDEX.fullmatch(name) is not None
    )


DEVICE_NAME = Matches(is_device_name, f"one of {_NAMES}")
"""The validation rule of a `device` parameter (the name only; `resolve_device` checks that the
device is here)."""


def accelerator() -> torch.device | None:
    """CUDA, else Apple MPS, else None."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return None


def devices_here() -> str:
    """What this machine trains on, for a badge: 'CPU', or 'CPU and CUDA' ('auto' then picks
    per model)."""
    found = accelerator()
    return "CPU" if found is None else f"CPU and {found.type.upper()}"


def resolve_device(device: str = "auto") -> torch.device:
    """The device named by `device`; 'auto' is the accelerator if there is one, else the CPU
    (what training on 'auto' uses is `choose_device`'s). An unknown name, or an accelerator that
    is not here, is a ValueError naming it."""
    if not is_device_name(device):
        raise ValueError(f"device must be one of {_NAMES}. Got {device!r}.")
    if device == "auto":
        return accelerator() or torch.device("cpu")
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} was requested but CUDA is not available here.")
        index = _CUDA_INDEX.fullmatch(device)
        count = torch.cuda.device_count()
        if index is not None and int(index.group(1)) >= count:
            raise ValueError(f"device {device!r} names GPU {index.group(1)}, but this machine has "
                             f"{count} CUDA device(s): cuda:0 to cuda:{count - 1}.")  # fmt: skip
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was requested but Apple MPS is not available here.")
    return torch.device(device)


def choose_device(config: HexaGANConfig, n_features: int, n_models: int = 1) -> DeviceChoice:
    """The device 'auto' trains on: the accelerator for the MNIST convnets, and for MLPs from
    `AUTO_GPU_MIN_WORK` (K * d^2 for `n_models` models of `n_features` features, each of a
    config's n_imputations members a model); else the CPU.
    """
    found = accelerator()
    if found is None:
        return DeviceChoice(torch.device("cpu"), "CPU: no CUDA or MPS device here")
    name = found.type.upper()
    if config.architecture == "mnist":
        return DeviceChoice(found, f"{name}: convolutional networks gain on a GPU")
    n_models *= config.n_imputations  # the members train stacked, as K models do
    work = n_models * n_features**2
    models = "one model" if n_models == 1 else f"{n_models} models"
    size = f"{models} of {n_features} features (K * d^2 = {work:,}"
    if work >= AUTO_GPU_MIN_WORK:
        return DeviceChoice(found, f"{name}: {size} >= {AUTO_GPU_MIN_WORK:,}): enough "
                                   "arithmetic per call for the GPU to pay off")  # fmt: skip
    return DeviceChoice(torch.device("cpu"), f"CPU: {size} < {AUTO_GPU_MIN_WORK:,}): networks "
                        f"this small are faster on the CPU than on {name}, where every call "
                        "costs a kernel launch")  # fmt: skip


def model_device(device: str, config: HexaGANConfig, n_features: int,
                 n_models: int = 1) -> torch.device:  # fmt: skip
    """The device for `n_models` models of `config` on `n_features` features: `choose_device`'s
    for 'auto', else `resolve_device`'s."""
    if device == "auto":
        return choose_device(config, n_features, n_models).device
    return resolve_device(device)


_ASKED = re.compile(r"tried to allocate ([\d.]+ ?[KMGT]i?B|\d+ bytes)", re.IGNORECASE)


def out_of_memory_message(error: BaseException) -> str | None:
    """One line for an out-of-memory error of CUDA, MPS or the CPU allocator: where, how much
    was asked for, and what to try. None for any other error."""
    text = str(error)
    if isinstance(error, torch.OutOfMemoryError) or "CUDA out of memory" in text:
        where = "the GPU (CUDA)"
    elif "MPS backend out of memory" in text:
        where = "the GPU (MPS)"
    elif "DefaultCPUAllocator" in text and "allocate" in text:
        where = "the CPU"
    else:
        return None
    asked = _ASKED.search(text)
    size = _readable_size(asked.group(1)) if asked else "an unknown size"
    return (
        f"out of memory on {where}: an allocation of {size} failed. Train fewer models together, "
        "use fewer rows (max_rows), estimate D_MI's penalty on wide data (penalty_projections "
        "= 4), or train on another device ('cpu')."
    )


def _readable_size(size: str) -> str:
    """'1073741824 bytes' as '1.00 GiB'; torch's own '2.00 GiB' unchanged."""
    if not size.endswith(" bytes"):
        return size
    count = float(size.split()[0])
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024:
            return f"{count:.0f} bytes" if unit == "bytes" else f"{count:.2f} {unit}"
        count /= 1024
    return f"{count:.2f} TiB"
