"""hexagan_core.device: names, 'auto''s measured rule, and one line for an out-of-memory error."""

from __future__ import annotations

import pytest
import torch

from hexagan_core import device as device_module
from hexagan_core import model
from hexagan_core.config import preset
from hexagan_core.device import (
    AUTO_GPU_MIN_WORK,
    choose_device,
    devices_here,
    model_device,
    out_of_memory_message,
    resolve_device,
)

CUDA = torch.device("cuda")


def test_auto_prefers_cuda_then_mps_then_cpu():
    expected = (
        "cuda" if torch.cuda.is_available()
        else "mps" if torch.backends.mps.is_available()
        else "cpu"
    )  # fmt: skip
    assert resolve_device("auto").type == expected == resolve_device().type
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "CUDA", "cuda:", "cuda:x", "cuda:-1", "mps:0", " cpu", 0])
def test_unknown_names_are_refused(name):
    with pytest.raises(ValueError, match=r"device must be one of 'auto', 'cpu', 'cuda', "
                                         rf"'cuda:N', 'mps'\. Got {name!r}"):  # fmt: skip
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_missing_cuda_is_an_error_not_a_fallback():
    with pytest.raises(ValueError, match="'cuda:1' was requested but CUDA is not available"):
        resolve_device("cuda:1")


def test_a_gpu_index_beyond_the_machine_is_refused_before_training(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert resolve_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match=r"'cuda:1' names GPU 1, but this machine has 1 CUDA "
                                         r"device\(s\): cuda:0 to cuda:0"):  # fmt: skip
        resolve_device("cuda:1")


def test_model_module_gives_the_same_function():
    assert model.resolve_device is resolve_device


@pytest.fixture
def gpu_here(monkeypatch):
    """'auto' sees a CUDA device (nothing runs on it)."""
    monkeypatch.setattr(device_module, "accelerator", lambda: CUDA)


def test_without_an_accelerator_auto_is_the_cpu_and_says_why(monkeypatch):
    monkeypatch.setattr(device_module, "accelerator", lambda: None)
    assert choose_device(preset("default"), 500, 32) == (torch.device("cpu"),
                                                         "CPU: no CUDA or MPS device here")


@pytest.mark.parametrize(
    ("n_features", "n_models", "expected"),
    [
        (30, 1, "cpu"),  # breast: K * d^2 = 900
        (30, 8, "cuda"),  # 7,200
        (63, 1, "cpu"),  # 3,969, just below 64^2
        (64, 1, "cuda"),  # 4,096 = AUTO_GPU_MIN_WORK
        (500, 1, "cuda"),  # madelon
    ],
)
def test_auto_puts_small_mlps_on_the_cpu_and_large_ones_on_the_gpu(gpu_here, n_features,
                                                                   n_models, expected):  # fmt: skip
    assert AUTO_GPU_MIN_WORK == 64**2
    choice = choose_device(preset("default"), n_features, n_models)
    assert choice.device.type == expected
    work = n_models * n_features**2
    assert f"K * d^2 = {work:,}" in choice.reason
    assert choice.reason.startswith("CPU: " if expected == "cpu" else "CUDA: ")


def test_auto_puts_the_mnist_convnets_on_the_gpu(gpu_here):
    choice = choose_device(preset("mnist"), 784)
    assert choice.device == CUDA and "convolutional" in choice.reason


def test_the_badge_names_the_devices_here(monkeypatch):
    monkeypatch.setattr(device_module, "accelerator", lambda: None)
    assert devices_here() == "CPU"
    monkeypatch.setattr(device_module, "accelerator", lambda: torch.device("mps"))
    assert devices_here() == "CPU and MPS"


def test_model_device_applies_the_rule_to_auto_only(gpu_here):
    assert model_device("auto", preset("default"), 30) == torch.device("cpu")
    assert model_device("auto", preset("default"), 500) == CUDA
    assert model_device("cpu", preset("default"), 500) == torch.device("cpu")


CUDA_OOM = ("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.11 "
            "GiB of which 1.06 GiB is free. Including non-PyTorch memory, this process has 78.04 "
            "GiB memory in use. Of the allocated memory 76.9 GiB is allocated by PyTorch, and 0.6 "
            "GiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is "
            "large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid "
            "fragmentation.  See documentation for Memory Management")  # fmt: skip


@pytest.mark.parametrize(
    ("error", "where", "size"),
    [
        (torch.OutOfMemoryError(CUDA_OOM), "the GPU (CUDA)", "2.00 GiB"),
        (RuntimeError("MPS backend out of memory (MPS allocated: 17.89 GB, other allocations: "
                      "1.20 GB, max allowed: 18.13 GB). Tried to allocate 512.00 MB on private "
                      "pool."), "the GPU (MPS)", "512.00 MB"),  # fmt: skip
        (RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't "
                      "allocate memory: you tried to allocate 1099511627776 bytes. Error code 12 "
                      "(Cannot allocate memory)"), "the CPU", "1.00 TiB"),  # fmt: skip
    ],
)
def test_out_of_memory_is_one_line_with_the_size_and_what_to_try(error, where, size):
    message = out_of_memory_message(error)
    assert message.startswith(f"out of memory on {where}: an allocation of {size} failed.")
    assert "\n" not in message and "max_rows" in message and "penalty_projections" in message


def test_other_errors_are_not_out_of_memory():
    assert out_of_memory_message(RuntimeError("mat1 and mat2 shapes cannot be multiplied")) is None
    assert out_of_memory_message(ValueError("bad")) is None
