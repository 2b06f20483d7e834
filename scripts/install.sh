#!/usr/bin/env bash
# One command for a fresh machine: make .venv, install everything, run the main job.
#   bash scripts/install.sh            # install + offline demo synthesis (tiny checkpoint)
#   SKIP_DEMO=1 bash scripts/install.sh  # install only (what .ci/run uses)
# Why not a plain `pip install -e .`: chatterbox-tts 0.1.7 pins torch 2.6 + gradio, so it
# goes in with --no-deps next to its import-time needs (declared in settings.ini).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python
PIP="$VPY -m pip install -q --disable-pip-version-check -c constraints.txt"
$VPY -m pip install -q --disable-pip-version-check --upgrade pip
$PIP torch==2.11.0 torchaudio==2.11.0
$PIP --no-deps chatterbox-tts==0.1.7 s3tokenizer==0.3.0 resemble-perth==1.0.1
EXTRAS=dev,mlx,eval,int8,serve
[ -n "${WITH_FLASHINFER:-}" ] && EXTRAS=$EXTRAS,flashinfer
$PIP -e ".[$EXTRAS]"
# headless Chromium and its WebDriver for the browser tests (docs site, JupyterLab); Debian packages, skipped where apt
# or root is not available (the browser tests then say what to install)
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "note: could not install chromium / chromium-driver (the browser tests will say so)"
fi
$VPY -c "import chatterbox, chatterbox_flash; print('chatterbox-flash', chatterbox_flash.__version__, 'installed in .venv')"
if [ -z "${SKIP_DEMO:-}" ]; then
  .venv/bin/python synthesize.py --tiny --audio_prompt chatterbox_flash/assets/ref_voice.wav \
    --backend cpu --dtype float32 --max_speech_tokens 50 \
    --text "Hello there, this is Chatterbox Flash." --out_dir out
fi
