#!/usr/bin/env bash
# The one test command (README, .ci/run): every notebook's tests, then the plain pytest suite.
# Cells flagged `#| slow` run too; `#| cuda` cells and GPU tests run only where a GPU is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
FLAGS="slow"
if .venv/bin/python -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then FLAGS="slow cuda"; fi
.venv/bin/nbdev_test --flags "$FLAGS" --n_workers 2 --timing
.venv/bin/python -m pytest -q tests "$@"
