"""Process tuning for training (the CPU's allocator and thread count) and the checks that a
device can run what was asked before training starts (a compiler for engine='compiled', memory
for D_MI's batched Jacobian).

None of it changes what is computed, only how fast, or how early a run that cannot work says so.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import shutil
import sys
import warnings

import torch

from hexagan_core.config import HexaGANConfig

__all__ = ["keep_freed_heap", "release_freed_heap", "check_compiler", "cpu_threads",
           "jacobian_bytes", "check_jacobian_memory", "DeviceMemoryWarning"]

_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3  # glibc's mallopt parameters


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc, or None elsewhere (macOS, Windows, musl: their allocators are left alone)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@functools.cache
def keep_freed_heap() -> bool:
    """Let glibc keep freed memory for the next step (once per process; True if set).

    An update's temporary tensors of K models (e.g. D_MI's Jacobian, 1.8 MB for 8 models on
    breast) exceed glibc's thresholds: each is mapped fresh from the OS and page-faulted in, and
    freed heap is handed back after every step, only to be faulted in again. Serving blocks up
    to 32 MiB from the heap and trimming only above 1 GiB (`release_freed_heap` trims after
    training) halved D_MI's time for 8 models on breast (9.6 -> 4.8 ms per iteration).
    """
    libc = _libc()
    if libc is None:
        return False
    return all(
        libc.mallopt(option, value) == 1
        for option, value in ((_M_MMAP_THRESHOLD, 32 << 20), (_M_TRIM_THRESHOLD, 1 << 30),
                              (_M_TOP_PAD, 64 << 20))
    )  # fmt: skip


def release_freed_heap() -> bool:
    """Hand the freed heap back to the OS (after training: the process may live on). False
    where the allocator is not glibc's and nothing was done."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    return libc is not None


def check_compiler(device: torch.device) -> None:
    """Fail early and plainly where torch.compile cannot build kernels, rather than inside the
    first iteration with a long traceback: its CPU kernels are C++, built on the fly by a
    compiler; its CUDA kernels are Triton programs, which need Triton and a GPU of compute
    capability 7.0 or newer."""
    if device.type == "cuda":
        _check_triton(device)
        return
    if device.type != "cpu":
        return
    default = {"darwin": "clang++", "win32": "cl"}.get(sys.platform, "g++")
    compiler = os.environ.get("CXX") or default
    if shutil.which(compiler) is None:
        raise ValueError(
            f"engine='compiled' on the CPU needs a C++ compiler ({compiler!r} was not found; "
            "install one, e.g. g++, or set CXX). Use engine='eager' meanwhile."
        )


def _check_triton(device: torch.device) -> None:
    try:
        import triton  # noqa: F401  (only whether it imports)
    except ImportError as error:
        raise ValueError(
            "engine='compiled' on CUDA needs Triton, which torch.compile turns the steps into, and "
            f"it does not import here ({error}); install the triton that torch {torch.__version__} "
            "names, or use engine='eager'."
        ) from None
    capability = torch.cuda.get_device_capability(device)
    if capability < (7, 0):
        raise ValueError(
            f"engine='compiled' on CUDA needs a GPU of compute capability 7.0 or newer for Triton; "
            f"{torch.cuda.get_device_name(device)} has {capability[0]}.{capability[1]}. Use "
            "engine='eager'."
        )


class DeviceMemoryWarning(UserWarning):
    """Training is likely to run out of the device's memory."""


JACOBIAN_TENSORS_AT_ONCE = 4
"""Tensors the size of D_MI's batched input Jacobian alive at once in its update: the Jacobian,
its gradient, a temporary of its size and two partial products of half its size (read off
`StackedMLP.input_jacobian_taped` and `input_jacobian_backward`); `benchmarks/speed.py` prints
the measured peak beside this estimate."""

JACOBIAN_MEMORY_SHARE = 0.5
"""Warn when those tensors would take more than this share of the device's memory."""


def jacobian_bytes(n_models: int, batch: int, n_features: int, itemsize: int = 4) -> int:
    """Bytes of one batched input Jacobian of D_MI, (K, B, d, d): each row's d outputs
    differentiated with respect to its d inputs (512 MB for 8 models, batch 64, d = 500)."""
    return n_models * batch * n_features * n_features * itemsize


def check_jacobian_memory(n_models: int, batch: int, n_features: int, device: torch.device,
                          budget: int | None = None) -> int:  # fmt: skip
    """Estimate the peak memory of D_MI's batched Jacobian from the shapes (bytes) and warn
    (`DeviceMemoryWarning`) when it exceeds `budget` (default: `JACOBIAN_MEMORY_SHARE` of the
    device's memory, where torch can tell it), so that a run that would fail halfway says so
    before it starts."""
    itemsize = torch.finfo(torch.get_default_dtype()).bits // 8
    peak = JACOBIAN_TENSORS_AT_ONCE * jacobian_bytes(n_models, batch, n_features, itemsize)
    if budget is None:
        total = _device_memory(device)
        budget = None if total is None else int(JACOBIAN_MEMORY_SHARE * total)
    if budget is not None and peak > budget:
        warnings.warn(
            f"D_MI's exact gradient penalty on {device} builds Jacobians of {_gib(peak)} GiB per "
            f"update ({n_models} model(s), batch {batch}, {n_features} features), more than "
            f"{_gib(budget)} GiB of memory to spare: set penalty_projections = 4, train fewer "
            "models together, or use the CPU, which takes the penalty row by row.",
            DeviceMemoryWarning, stacklevel=2,
        )  # fmt: skip
    return peak


def _device_memory(device: torch.device) -> int | None:
    """The device's memory in bytes, where torch can tell it."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    if device.type == "mps":
        return int(torch.mps.recommended_max_memory())
    if device.type == "cpu" and hasattr(os, "sysconf"):
        with contextlib.suppress(ValueError, OSError):
            return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f}"


@contextlib.contextmanager
def cpu_threads(device: torch.device, config: HexaGANConfig):
    """Train small tabular networks on one CPU thread (convnets on all cores but one).

    Their matrix products are far too small to gain from intra-op parallelism, and when the
    cores are busy (a dashboard, a browser, a second job) OpenMP's spinning threads make each
    step up to 100x slower (measured: 16 ms vs 1.4 s per iteration on breast, 2 cores, one busy).
    The setting is OpenMP's, which holds per calling thread: fits running in different threads
    do not change each other's, and each restores its own on the way out.
    """
    previous = torch.get_num_threads()
    if device.type == "cpu":
        spare = max(1, (os.cpu_count() or 1) - 1)
        torch.set_num_threads(min(previous, spare) if config.architecture == "mnist" else 1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
