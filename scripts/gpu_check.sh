#!/usr/bin/env bash
# Run ON the lent GPU machine (device tool, carry [".whl"]): install the carried wheels, run the GPU tests and a
# short benchmark. Prepare the wheels here first with scripts/gpu_wheels.sh.
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv
python3 -m pytest -q -s tests/test_gpu.py 2>&1 | tee ${OUT:-/tmp}/gpu_tests.log
python3 scripts/bench.py --full --device cuda --dtype bfloat16 --speech_tokens 250 --batch_sizes 1 8 \
  --backends gpu flashinfer --json ${OUT:-/tmp}/bench_gpu.json 2>&1 | grep -v Sampling | tee ${OUT:-/tmp}/bench_gpu.log
