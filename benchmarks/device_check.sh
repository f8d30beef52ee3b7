#!/usr/bin/env bash
# The GPU measurements as one prepared run on a lent H100/H200 (the workplace's `device` tool:
# minutes of device time a session, so one call that must work the first time, then give the
# machine back). It always ends with numbers: each speed.py run writes its JSON after every
# section, a failing section is recorded and the next one runs, each run has its own time cap,
# and the end prints what was measured and what was not.
#
#   bash benchmarks/device_check.sh [--imports-only] [--eager-cap S] [--compiled-cap S]
#                                   [--ttq-cap S] [--no-compiled]
#
# Once, here, in the repository root: the wheels of what the GPU machine lacks (the list and
# why: benchmarks/device_wheels.txt; what that machine has: benchmarks/gpu_packages.txt), then
# check them (offline; tests/core/test_device_check.py does the same):
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux2014_x86_64 -d .whl -r benchmarks/device_wheels.txt
#   python3 benchmarks/carried_wheels.py .whl
# Then one `run` with carry [".whl"] and timeout_s 420 (the defaults below: 180 s eager, 150 s
# compiled, plus about 30 s of setup, leaving device time for a second try):
#   bash benchmarks/device_check.sh
# Output and JSON go to $OUT (else benchmarks/results/device_check/).
#
# What it measures (benchmarks/speed.py, sections): eager run -- ms per iteration against the
# autograd algorithm on breast, madelon (d = 500) and the MNIST preset; the CPU against the GPU
# for 'auto''s rule (hexagan_core.device.AUTO_GPU_MIN_WORK); ensembles of K = 8 and 32; time to
# kNN's RMSE. Compiled run -- the same per-iteration timings with engine='compiled' (Triton
# kernels, compiled with an empty cache) and its time to kNN's RMSE.
#
# --imports-only stops after the imports: with PYTHON set to an interpreter that has only the
# GPU machine's packages (benchmarks/gpu_imitation.sh makes one), it shows here that the
# carried wheels are enough.
set -uo pipefail
python=${PYTHON:-python3}
out=${OUT:-benchmarks/results/device_check}
eager_cap=180 compiled_cap=150 ttq_cap=45 imports_only=0 compiled=1
while (($#)); do
    case $1 in
        --imports-only) imports_only=1 ;;
        --eager-cap) eager_cap=$2; shift ;;
        --compiled-cap) compiled_cap=$2; shift ;;
        --ttq-cap) ttq_cap=$2; shift ;;
        --no-compiled) compiled=0 ;;
        *) echo "unknown option $1 (see the header of $0)"; exit 2 ;;
    esac
    shift
done
mkdir -p "$out"
export PYTHONUNBUFFERED=1 HEXAGAN_OFFLINE=1

# 1. The carried wheels, installed as the device tool's notes say (no index there, no deps).
if compgen -G ".whl/*.whl" > /dev/null; then
    site=$(mktemp -d /tmp/hexagan-site.XXXX)
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target "$site" .whl/*.whl && export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
else
    echo "no .whl/ here: nothing carried (see this script's header)"
fi

# 2. Imports: every carried wheel's requirements installed, and everything the check runs.
"$python" benchmarks/carried_wheels.py --installed .whl | tee "$out/imports.txt"
if ! "$python" -c "import hexagan_core.cli, hexagan_core.estimators, benchmarks.speed, \
mlxtend.data; print('imports: hexagan_core, benchmarks.speed and mlxtend.data import')" \
    2>&1 | tee -a "$out/imports.txt"; then
    echo "imports failed: nothing measured (the traceback above names the missing module)"
    exit 1
fi
((imports_only)) && exit 0

# 3. The machine.
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  "$python" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
  "$python" -c "import triton; print('triton', triton.__version__)"; } 2>&1 | tee "$out/device.txt"

# 4. Eager, then compiled. A run that reaches its cap is killed; its JSON keeps every section
# it finished, and --budget stops it starting sections it has no time for.
timeout "$eager_cap" "$python" benchmarks/speed.py --device cuda --no-compiled --breakdown \
    --sections breast,madelon,devices,ensemble,mnist,quality --models 8,32 \
    --ttq-cap "$ttq_cap" --budget $((eager_cap - ttq_cap - 15)) \
    --json "$out/speed_cuda_eager.json" 2>&1 | tee "$out/speed_cuda_eager.txt"
if ((compiled)); then
    timeout "$compiled_cap" "$python" benchmarks/speed.py --device cuda --compiled \
        --sections breast,quality-compiled,madelon --ttq-cap "$ttq_cap" \
        --budget $((compiled_cap - ttq_cap - 15)) \
        --json "$out/speed_cuda_compiled.json" 2>&1 | tee "$out/speed_cuda_compiled.txt"
fi

# 5. What was measured, whatever happened above.
for json in "$out"/speed_cuda_*.json; do
    [[ -e $json ]] || { echo "no JSON written: both runs failed before their first section"; break; }
    "$python" - "$json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
ended = set(r["finished"]) | set(r["errors"]) | set(r["skipped"])
cut = [s for s in r["sections"] if s not in ended]  # the time cap killed the run meanwhile
print(f"{sys.argv[1]}: finished {r['finished'] or 'none'}; failed {r['errors'] or 'none'}; "
      f"skipped {r['skipped'] or 'none'}; cut off by the time cap {cut or 'none'}")
EOF
done
exit 0
