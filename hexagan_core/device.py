"""Which torch device a run gets: `resolve_device` maps 'auto', 'cpu', 'cuda[:n]' or 'mps' to one.

An accelerator asked for by name that is not there is an error, never a quiet switch to the CPU.
"""

from __future__ import annotations

import torch

__all__ = ["resolve_device"]


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' picks CUDA, then Apple MPS, then CPU; an unavailable explicit choice is an error."""
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if device not in ("cpu", "cuda", "mps") and not device.startswith("cuda:"):
        raise ValueError(f"device must be one of 'auto', 'cpu', 'cuda', 'mps'. Got {device!r}.")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} was requested but CUDA is not available here.")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ValueError("device 'mps' was requested but Apple MPS is not available here.")
    return torch.device(device)
