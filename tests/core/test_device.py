"""resolve_device: 'auto' picks what is here; a named device that is not here is an error."""

from __future__ import annotations

import pytest
import torch

from hexagan_core import model
from hexagan_core.device import resolve_device


def test_auto_prefers_cuda_then_mps_then_cpu():
    expected = (
        "cuda" if torch.cuda.is_available()
        else "mps" if torch.backends.mps.is_available()
        else "cpu"
    )
    assert resolve_device("auto").type == expected == resolve_device().type
    assert resolve_device("cpu") == torch.device("cpu")


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match=r"device must be one of 'auto', 'cpu', 'cuda', 'mps'\. "
                                         r"Got 'tpu'"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_missing_cuda_is_an_error_not_a_fallback():
    with pytest.raises(ValueError, match="'cuda:1' was requested but CUDA is not available"):
        resolve_device("cuda:1")


def test_model_module_gives_the_same_function():
    assert model.resolve_device is resolve_device
