#!/usr/bin/env bash
# The one test command (README, .ci/run): every notebook's tests, then the plain pytest suite.
# Cells flagged `#| slow` run too; `#| cuda` cells and GPU tests run only where a GPU is visible.
# The wheel test (a fresh venv: mostly downloading and unpacking) runs beside the notebooks; the notebooks run one per
# core with one thread each (several torch processes with a thread per core each would make OpenMP spin-wait).
set -euo pipefail
cd "$(dirname "$0")/.."
FLAGS="slow"
if .venv/bin/python -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then FLAGS="slow cuda"; fi
WORKERS=$(nproc 2>/dev/null || echo 2); [ "$WORKERS" -gt 4 ] && WORKERS=4
WHEEL_LOG=$(mktemp)
trap 'rm -f "$WHEEL_LOG"' EXIT
.venv/bin/python -m pytest -q -p no:cacheprovider tests/test_wheel.py "$@" >"$WHEEL_LOG" 2>&1 & wheel=$!
status=0
OMP_NUM_THREADS=1 .venv/bin/nbdev_test --flags "$FLAGS" --n_workers "$WORKERS" --timing || status=$?
# pytest: one worker per core (pytest-xdist), a file's tests together in one worker, one thread each
if [ "$status" = 0 ]; then
  OMP_NUM_THREADS=1 .venv/bin/python -m pytest -q -n "$WORKERS" --dist loadgroup tests --ignore=tests/test_wheel.py "$@" \
    || status=$?
fi
wait "$wheel" || { status=$?; echo "tests/test_wheel.py failed:"; }
cat "$WHEEL_LOG"
exit "$status"
