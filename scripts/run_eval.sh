#!/usr/bin/env bash
# Usage: scripts/run_eval.sh TEST_LIST.jsonl OUT_DIR [extra args for python -m chatterbox_flash.tools.eval.cli]
# Generates OUT_DIR/wavs/{id}.wav (resumable: done ids are skipped), then scores WER (Whisper large-v3, seed-tts-eval
# normalisation), SIM-o and UTMOS into OUT_DIR/results.json and OUT_DIR/results.md.
#   scripts/run_eval.sh seedtts_en.jsonl runs/en --backend gpu
#   scripts/run_eval.sh list.jsonl runs/tiny --tiny --backend cpu --skip_scoring   # pipeline check, scores nothing
#   scripts/run_eval.sh list.jsonl runs/other --skip_generation --wav_dir other_system/wavs
# See `python -m chatterbox_flash.tools.eval.cli --help` for every flag. Set PYTHON to choose the interpreter.
set -euo pipefail
if [ $# -lt 2 ]; then sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${PYTHON:-}" ]; then
  if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
TEST_LIST="$1"; OUT_DIR="$2"; shift 2
exec "$PYTHON" -m chatterbox_flash.tools.eval.cli --test_list "$TEST_LIST" --out_dir "$OUT_DIR" "$@"
