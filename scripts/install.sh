#!/usr/bin/env bash
# One command for a fresh machine: make .venv, install everything, run the main job.
#   bash scripts/install.sh            # install + offline demo synthesis (tiny checkpoint)
#   SKIP_DEMO=1 bash scripts/install.sh  # install only (what .ci/run uses)
# The package declares everything it needs (settings.ini), chatterbox's modules included, so this is one
# `pip install -e ".[extras]"` under the pinned versions of constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python
PIP="$VPY -m pip install -q --disable-pip-version-check -c constraints.txt"
$VPY -m pip install -q --disable-pip-version-check --upgrade pip
# earlier versions of this script put chatterbox-tts here: it ships the same `chatterbox` files, so it goes first
$VPY -m pip show -q chatterbox-tts >/dev/null 2>&1 && $VPY -m pip uninstall -q -y chatterbox-tts
EXTRAS=dev,mlx,eval,int8,serve,batch,ray
[ -n "${WITH_FLASHINFER:-}" ] && EXTRAS=$EXTRAS,flashinfer
$PIP -e ".[$EXTRAS]"
# headless Chromium and its WebDriver for the browser tests (docs site, JupyterLab); Debian packages, skipped where apt
# or root is not available (the browser tests then say what to install)
if ! { command -v chromium && command -v chromedriver; } >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "note: could not install chromium / chromium-driver (the browser tests will say so)"
fi
$VPY -c "import chatterbox_flash.speech.tts, chatterbox_flash; print('chatterbox-flash', chatterbox_flash.__version__, 'installed in .venv')"
if [ -z "${SKIP_DEMO:-}" ]; then
  .venv/bin/chatterbox-flash --tiny --backend cpu --dtype float32 --max_speech_tokens 50 \
    --text "Hello there, this is Chatterbox Flash." --out_dir out
fi
