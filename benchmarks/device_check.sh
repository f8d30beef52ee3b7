#!/usr/bin/env bash
# Issue 5's GPU measurements as one prepared run on a lent H100/H200 (the workplace's `device`
# tool; 15 device-minutes a session, so one call, then give the machine back).
#
# Once, here, in the repository root (imbalanced-learn, which the baselines import, is the one
# requirement that machine's python3 lacks; it has torch with CUDA, numpy, pandas, scikit-learn):
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux2014_x86_64 -d .whl imbalanced-learn==0.14.2
# Then one `run` with carry [".whl"] and timeout_s 600:  bash benchmarks/device_check.sh
#
# Eager engine first (numbers even if compiling runs long), then the whole benchmark with the
# compiled engine (Triton kernels). Output and JSON go to $OUT (else benchmarks/results/).
set -uo pipefail
out=${OUT:-benchmarks/results}
if compgen -G ".whl/*.whl" > /dev/null; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
        .whl/*.whl && export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1 HEXAGAN_OFFLINE=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/device.txt"
python3 -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())" \
    | tee -a "$out/device.txt"
timeout 200 python3 benchmarks/speed.py --device cuda --no-compiled --breakdown \
    --json "$out/speed_cuda_eager.json" 2>&1 | tee "$out/speed_cuda_eager.txt"
timeout 330 python3 benchmarks/speed.py --device cuda --breakdown \
    --json "$out/speed_cuda.json" 2>&1 | tee "$out/speed_cuda.txt"
