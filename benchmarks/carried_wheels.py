"""Whether the wheels `benchmarks/device_check.sh` carries to the GPU machine are complete.

That machine has no package index: a package it lacks travels as a wheel, and pip installs the
carried wheels with --no-deps, so nothing there checks what they require. This reads each
wheel's METADATA (its Requires-Dist lines, less extras and markers that do not hold for the
GPU's Python) and finds each requirement among the carried wheels or the GPU machine's packages
(`gpu_packages.txt`), on any machine and without a network:

    python benchmarks/carried_wheels.py [WHEEL_DIR]              (default .whl)
    python benchmarks/carried_wheels.py --installed [WHEEL_DIR]

With --installed it checks against what is installed where it runs instead, versions too
(device_check.sh does so on the GPU machine before timing). Exit status 1 names what is missing.
"""

from __future__ import annotations

import argparse
import email
import re
import sys
import zipfile
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).resolve().parent
GPU_PACKAGES = HERE / "gpu_packages.txt"
CARRIED = HERE / "device_wheels.txt"
GPU_PYTHON = {  # the GPU machine's python3, for the requirements' markers
    "python_version": "3.12", "python_full_version": "3.12.3", "implementation_name": "cpython",
    "platform_python_implementation": "CPython", "sys_platform": "linux", "os_name": "posix",
    "platform_system": "Linux", "platform_machine": "x86_64", "extra": "",
}  # fmt: skip
WHEEL_TAGS = re.compile(r"-(py3-none-any|cp312-cp312-manylinux[\w.]*x86_64)\.whl$")
"""Tags a carried wheel may have: pure Python, or built for the GPU's CPython 3.12 on x86-64."""


def canonical(name: str) -> str:
    """A distribution name as pip compares them (PEP 503): 'Scikit_Learn' -> 'scikit-learn'."""
    return re.sub(r"[-_.]+", "-", name).lower()


def listed_names(path: Path) -> list[str]:
    """The names of a list such as gpu_packages.txt or device_wheels.txt (comments, blank lines
    and version pins left out)."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        entry = line.split("#", 1)[0].strip()
        if entry:
            names.append(canonical(Requirement(entry).name))
    return names


def wheel_metadata(wheel: Path) -> tuple[str, str, list[Requirement]]:
    """A wheel's name, version and the requirements that hold on the GPU machine (no extras)."""
    with zipfile.ZipFile(wheel) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(member).decode("utf-8")
    fields = email.message_from_string(text)  # METADATA is a set of e-mail headers
    requirements = [Requirement(value) for value in fields.get_all("Requires-Dist", [])]
    needed = [r for r in requirements if r.marker is None or r.marker.evaluate(GPU_PYTHON)]
    return canonical(fields["Name"]), fields["Version"], needed


def missing_on_gpu(wheels: Iterable[Path], gpu_packages: Iterable[str]) -> list[str]:
    """Each requirement of a wheel that is neither carried nor among `gpu_packages`, as
    'wheel needs requirement'."""
    wheels = list(wheels)
    described = [wheel_metadata(wheel) for wheel in wheels]
    present = {canonical(n) for n in gpu_packages} | {name for name, _, _ in described}
    return [f"{name} {version} needs {requirement}"
            for name, version, requirements in described
            for requirement in requirements
            if canonical(requirement.name) not in present]  # fmt: skip


def unmet_here(wheels: Iterable[Path]) -> list[str]:
    """Each requirement of a wheel that what is installed here does not meet (absent, or a
    version outside its range)."""
    problems = []
    for wheel in wheels:
        name, version, requirements = wheel_metadata(wheel)
        for requirement in requirements:
            try:
                installed = metadata.version(requirement.name)
            except metadata.PackageNotFoundError:
                problems.append(f"{name} {version} needs {requirement}: not installed")
                continue
            if not requirement.specifier.contains(installed, prereleases=True):
                problems.append(f"{name} {version} needs {requirement}: {installed} is installed")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel_dir", nargs="?", type=Path, default=Path(".whl"))
    parser.add_argument("--installed", action="store_true",
                        help="check against the packages installed here, versions too")
    args = parser.parse_args(argv)
    wheels = sorted(args.wheel_dir.glob("*.whl"))
    if not wheels:
        print(f"no wheels in {args.wheel_dir}; download them as benchmarks/device_check.sh says")
        return 1
    problems = [f"{w.name}: not pure Python or CPython 3.12 on x86-64" for w in wheels
                if not WHEEL_TAGS.search(w.name)]  # fmt: skip
    carried = {name for name, _, _ in map(wheel_metadata, wheels)}
    problems += [f"{name}: listed in {CARRIED.name} but not in {args.wheel_dir}"
                 for name in listed_names(CARRIED) if name not in carried]  # fmt: skip
    if args.installed:
        problems += unmet_here(wheels)
    else:
        problems += missing_on_gpu(wheels, listed_names(GPU_PACKAGES))
    for problem in problems:
        print(problem)
    where = "installed here" if args.installed else f"on the GPU machine ({GPU_PACKAGES.name})"
    verdict = f"{len(problems)} problem(s)" if problems else f"every requirement carried or {where}"
    print(f"{len(wheels)} carried wheels: {verdict}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
