"""Process tuning for training on the CPU: the allocator, the thread count, the compiler check.

None of it changes what is computed, only how fast.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import shutil
import sys

import torch

from hexagan_core.config import HexaGANConfig

__all__ = ["keep_freed_heap", "release_freed_heap", "check_compiler", "cpu_threads"]

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
    """torch.compile's CPU kernels are C++, built on the fly: fail early and plainly without a
    compiler, rather than at the first iteration with a long traceback."""
    if device.type != "cpu":
        return
    default = {"darwin": "clang++", "win32": "cl"}.get(sys.platform, "g++")
    compiler = os.environ.get("CXX") or default
    if shutil.which(compiler) is None:
        raise ValueError(
            f"engine='compiled' on the CPU needs a C++ compiler ({compiler!r} was not found; "
            "install one, e.g. g++, or set CXX). Use engine='eager' meanwhile."
        )


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
