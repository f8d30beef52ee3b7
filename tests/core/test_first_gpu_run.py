"""Failures a first run on a GPU would meet, caught on the CPU: a tensor made on torch's default
device instead of the run's, a generator on the wrong device, torch.compile without Triton, a
Jacobian too large for the GPU's memory, an out-of-memory traceback, and device names the
baselines, transform and predict do not take."""

from __future__ import annotations

import ast
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from hexagan_core import cli, experiment
from hexagan_core import device as device_module
from hexagan_core.algorithm import Algorithm
from hexagan_core.baselines import make_imputer
from hexagan_core.config import preset
from hexagan_core.data import load_builtin
from hexagan_core.engine import build_algorithm, runtime
from hexagan_core.engine.runtime import (
    DeviceMemoryWarning,
    check_compiler,
    check_jacobian_memory,
    jacobian_bytes,
)
from hexagan_core.train import Validation, fit

REPO = Path(__file__).resolve().parents[2]
CPU = torch.device("cpu")


def _toy(n=40, d=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    x_in = np.where(rng.random(x.shape) < 0.2, np.nan, x)
    y = (x[:, 0] > 0.5).astype(np.int64)
    y_in = np.where(rng.random(n) < 0.3, -1, y)
    return x, x_in, y_in


# --- the default-device trap ------------------------------------------------------------------
# With "meta" as torch's default device, a tensor made without a device is a meta tensor, and the
# first operation that meets it and a real one fails: on a GPU such a tensor would have landed on
# the CPU beside CUDA tensors.

TINY = {"batch_size": 8, "eval_every": 1}


@pytest.mark.parametrize(
    "config",
    [
        preset("default", iterations=2, **TINY),
        preset("paper", iterations=1, penalty_projections=2, recon_drop_rate=0.3, **TINY),
        preset("official", iterations=1, pretrain_iterations=1, lr_decay=0.99, **TINY),
    ],
    ids=["default", "paper-projected-denoising", "official-warm-up"],
)
def test_training_imputing_and_sampling_make_every_tensor_on_the_runs_device(config):
    x, x_in, y_in = _toy()
    validation = Validation(x_in, x, np.isnan(x_in), None)

    def run():
        model = fit(config, x_in, y_in, validation=validation, device="cpu")
        return model.impute(x_in), model.sample(0, 4)[0]

    expected_imputed, expected_samples = run()
    with torch.device("meta"):
        imputed, samples = run()
    # the same numbers: the trap moved nothing, and the run was real
    assert np.array_equal(imputed, expected_imputed) and np.array_equal(samples, expected_samples)


def test_the_autograd_algorithm_makes_every_tensor_on_the_runs_device():
    _, x_in, y_in = _toy()
    with torch.device("meta"):
        algorithm = Algorithm([preset("paper", **TINY)], [x_in], [y_in], CPU)
        record = algorithm.iteration(algorithm.draw())
    assert all(value.device == CPU and torch.isfinite(value).all() for value in record.values())


def test_gain_makes_every_tensor_on_its_device():
    _, x_in, _ = _toy()
    with torch.device("meta"):
        imputed = make_imputer("gain", iterations=2, device="cpu").fit(x_in).transform(x_in)
    assert np.isfinite(imputed).all()


def _generator_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for folder in ("hexagan_core", "benchmarks", "pages", "ui"):
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                func = node.func if isinstance(node, ast.Call) else None
                if isinstance(func, ast.Attribute) and func.attr == "Generator" and isinstance(
                    func.value, ast.Name
                ) and func.value.id == "torch":  # fmt: skip
                    calls.append((f"{path.relative_to(REPO)}:{node.lineno}", node))
    return calls


def test_every_torch_generator_names_its_device():
    """torch.Generator() is a CPU generator whatever the run's device: on a GPU, drawing a CUDA
    tensor from it fails, so each one says which device it is for."""
    calls = _generator_calls()
    assert len(calls) >= 5  # the scan finds the generators of training, inference and GAIN
    unnamed = [where for where, call in calls
               if not call.args and not any(k.arg == "device" for k in call.keywords)]  # fmt: skip
    assert unnamed == []


# --- torch.compile on CUDA --------------------------------------------------------------------


def test_compiled_engine_on_cuda_without_triton_says_so_before_training(monkeypatch):
    monkeypatch.setitem(sys.modules, "triton", None)  # `import triton` raises ImportError
    with pytest.raises(ValueError, match=r"engine='compiled' on CUDA needs Triton, .* it does not "
                                         r"import here .* or use engine='eager'\."):  # fmt: skip
        check_compiler(torch.device("cuda"))


@pytest.mark.parametrize(("capability", "refused"),
                         [((6, 1), True), ((7, 0), False), ((9, 0), False)])
def test_compiled_engine_on_cuda_needs_compute_capability_7(monkeypatch, capability, refused):
    monkeypatch.setitem(sys.modules, "triton", types.ModuleType("triton"))
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Tesla P100")
    if refused:
        with pytest.raises(ValueError, match=r"compute capability 7\.0 or newer for Triton; "
                                             r"Tesla P100 has 6\.1"):  # fmt: skip
            check_compiler(torch.device("cuda"))
    else:
        check_compiler(torch.device("cuda"))


# --- D_MI's batched Jacobian ------------------------------------------------------------------


def test_the_jacobian_estimate_is_the_size_of_the_tensor_the_engine_builds():
    assert jacobian_bytes(8, 64, 500) == 8 * 64 * 500 * 500 * 4 == 512_000_000  # about 0.5 GB
    d, n_models = 6, 3
    xs = [_toy(d=d, seed=s)[1] for s in range(n_models)]
    configs = [preset("paper", batch_size=8, seed=s) for s in range(n_models)]
    algorithm = build_algorithm(configs, xs, [None] * n_models, CPU)
    batch = algorithm.draw().of("d_mi").batch(0, algorithm.batch_rows)
    _, jacobian, _, _ = algorithm.nets["d_mi"].input_jacobian_taped(batch.x, batch.y, n_rows=d)
    size = jacobian.numel() * jacobian.element_size()
    assert size == jacobian_bytes(n_models, algorithm.batch_rows, d)


def test_a_jacobian_above_the_budget_is_a_warning_with_its_size_and_what_to_try():
    with pytest.warns(DeviceMemoryWarning) as caught:
        peak = check_jacobian_memory(8, 64, 500, torch.device("cuda"), budget=2**30)
    assert peak == runtime.JACOBIAN_TENSORS_AT_ONCE * 512_000_000
    message = str(caught[0].message)
    assert "1.9 GiB per update (8 model(s), batch 64, 500 features), more than 1.0 GiB" in message
    assert "penalty_projections = 4" in message and "\n" not in message
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_jacobian_memory(8, 64, 500, torch.device("cuda"), budget=4 * 2**30)


def test_the_budget_is_a_share_of_the_gpus_memory(monkeypatch):
    gpu = types.SimpleNamespace(total_memory=8 * 2**30)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device: gpu)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_jacobian_memory(8, 64, 500, torch.device("cuda"))  # 1.9 GiB of 8
    with pytest.warns(DeviceMemoryWarning, match="more than 4.0 GiB"):
        check_jacobian_memory(32, 64, 500, torch.device("cuda"))  # 7.6 GiB


@pytest.mark.parametrize(
    ("overrides", "warned"),
    [({}, True), ({"penalty_projections": 4}, False), ({"penalty": "weight_clip"}, False)],
)
def test_training_warns_before_it_starts_where_the_batched_jacobian_is_built(
    monkeypatch, overrides, warned
):
    monkeypatch.setattr(runtime, "JACOBIAN_MEMORY_SHARE", 1e-12)  # any Jacobian is too large
    _, x_in, y_in = _toy()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build_algorithm([preset("paper", **overrides)], [x_in], [y_in], CPU)
    assert any(w.category is DeviceMemoryWarning for w in caught) == warned


# --- the command line and the baselines -------------------------------------------------------


def test_out_of_memory_ends_the_cli_with_one_line(monkeypatch, capsys):
    def run_out_of_memory(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has "
                                     "a total capacity of 79.11 GiB of which 1.06 GiB is free.")

    monkeypatch.setattr(cli, "run_experiment", run_out_of_memory)
    assert cli.main(["fit", "breast", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: out of memory on the GPU (CUDA): an allocation of 2.00 GiB ")
    assert err.count("\n") == 1


def test_other_runtime_errors_are_not_hidden(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "run_experiment", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["fit", "breast", "--quiet"])


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    assert cli.main(["fit", "breast", "--iterations", "2", "--device", "cpu", "--quiet",
                     "--save", str(folder / "model")]) == 0  # fmt: skip
    rows = folder / "rows.csv"  # 20 rows of breast, each with one entry missing
    table = load_builtin("breast").features.iloc[:20]
    table.mask(np.eye(20, 30, dtype=bool)).to_csv(rows, index=False)
    return folder / "model", rows


@pytest.mark.parametrize("command", ["transform", "predict"])
def test_transform_and_predict_take_a_device(saved_model, tmp_path, capsys, command):
    model_dir, rows = saved_model
    outputs = {}
    for device in ("cpu", "auto"):
        out = tmp_path / f"{device}.csv"
        assert cli.main([command, str(model_dir), str(rows), "--output", str(out),
                         "--device", device]) == 0  # fmt: skip
        outputs[device] = out.read_text()
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert outputs["cpu"] == outputs["auto"]  # 'auto' is the CPU here: the same numbers
    capsys.readouterr()
    assert cli.main([command, str(model_dir), str(rows), "--output", str(tmp_path / "x.csv"),
                     "--device", "tpu"]) == 2  # fmt: skip
    assert "device must be one of 'auto', 'cpu', 'cuda', 'cuda:N', 'mps'" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
def test_a_numbered_gpu_is_a_device_name_everywhere_and_its_absence_one_line(saved_model, tmp_path,
                                                                              capsys):  # fmt: skip
    model_dir, rows = saved_model
    out = str(tmp_path / "x.csv")
    assert cli.main(["transform", str(model_dir), str(rows), "--output", out,
                     "--device", "cuda:1"]) == 2  # fmt: skip
    assert "error: device 'cuda:1' was requested but CUDA is not available here." in (
        capsys.readouterr().err
    )
    _, x_in, _ = _toy()
    # the baselines take the name, and say plainly that the device is not here
    with pytest.raises(ValueError, match="'device' parameter is 'cuda:1', but that device is not"):
        make_imputer("gain", iterations=1, device="cuda:1").fit(x_in)
    refused = r"'device' parameter of GAINImputer must be one of 'auto', 'cpu', 'cuda', 'cuda:N'"
    with pytest.raises(ValueError, match=refused + r", 'mps'\. Got 'gpu'"):
        make_imputer("gain", iterations=1, device="gpu").fit(x_in)


def test_a_run_on_auto_reports_the_device_it_chose_and_why(monkeypatch):
    gpu = lambda: torch.device("cuda")  # noqa: E731  ('auto' sees a GPU; breast stays on the CPU)
    monkeypatch.setattr(device_module, "accelerator", gpu)
    monkeypatch.setattr(experiment, "accelerator", gpu)
    notes = []
    result = experiment.run_experiment(
        experiment.RunOptions(data="breast", iterations=2, device="auto"), on_note=notes.append
    )
    assert result.report["device"] == "cpu" and result.model.device == CPU
    expected = ("device 'auto' trains on CPU: one model of 30 features (K * d^2 = 900 < 4,096): "
                "networks this small are faster on the CPU than on CUDA")  # fmt: skip
    (note,) = [note for note in notes if note.startswith("device")]
    assert note.startswith(expected) and result.report["notes"].count(note) == 1
