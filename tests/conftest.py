"Shared fixtures: the tiny checkpoint is written once per machine (cached) and located once per session."
import os, sys, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

@pytest.fixture(scope="session")
def tiny_ckpt():
    from chatterbox_flash.checkpoints.tiny import tiny_checkpoint
    return tiny_checkpoint()

@pytest.fixture(scope="session")
def ref_voice():
    from chatterbox_flash.checkpoints.tiny import REF_VOICE
    return REF_VOICE

def run_cli(*args, env=None, timeout=900):
    "Run synthesize.py in a fresh process; returns CompletedProcess (stdout/stderr as text)."
    e = dict(os.environ, **(env or {}))
    return subprocess.run([PY, str(ROOT / "synthesize.py"), *map(str, args)], capture_output=True, text=True,
                          env=e, timeout=timeout, cwd=ROOT)
