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

# Under pytest-xdist (scripts/test.sh runs `-n 2 --dist loadgroup`) a file's tests stay together in one worker, so its
# module-scoped fixtures (a server, a browser, a Ray cluster) start once; the files that start a local Ray cluster
# share one worker, so two clusters never run side by side.
RAY_FILES = {"test_batch.py", "test_ray_serve.py"}

@pytest.hookimpl(tryfirst=True)                     # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        name = item.path.name
        item.add_marker(pytest.mark.xdist_group("ray" if name in RAY_FILES else name))
