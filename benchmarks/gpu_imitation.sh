#!/usr/bin/env bash
# The GPU machine's package set, imitated here, to show without a GPU that
# benchmarks/device_check.sh gets through its imports with only what that machine has and what
# the check carries (.whl/, see device_check.sh's header):
#
#   bash benchmarks/gpu_imitation.sh [VENV]        (default /tmp/hexagan-gpu-imitation)
#
# A virtual environment without this machine's site packages gets the packages of
# benchmarks/gpu_packages.txt that the check imports or a carried wheel requires (pip adds their
# own requirements), then `device_check.sh --imports-only` runs in it and installs the carried
# wheels as it does on the GPU machine: with --no-deps into a folder on PYTHONPATH. The GPU's
# python3 is 3.12 with torch 2.11 (CUDA); here it is python3 with torch 2.13.0's CPU wheel: the
# carried wheels are pure Python, and which modules import does not depend on either.
set -euo pipefail
venv=${1:-/tmp/hexagan-gpu-imitation}
python3 -m venv --clear "$venv"
"$venv/bin/python" -m pip install -q torch==2.13.0 numpy pandas scikit-learn scipy joblib \
    threadpoolctl tqdm matplotlib packaging
# Say what pip added that the GPU machine's list lacks (the imitation is that much kinder).
"$venv/bin/python" - <<'EOF'
import sys
from importlib import metadata

sys.path.insert(0, "benchmarks")
from carried_wheels import GPU_PACKAGES, canonical, listed_names

gpu = set(listed_names(GPU_PACKAGES)) | {"pip"}
extra = sorted({canonical(d.metadata["Name"]) for d in metadata.distributions()} - gpu)
print("installed here, not listed for the GPU machine:", ", ".join(extra) or "none")
EOF
PYTHON="$venv/bin/python" bash benchmarks/device_check.sh --imports-only
