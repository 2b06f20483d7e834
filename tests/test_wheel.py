"""`pip install` of the built wheel, the documented way, in a fresh virtual environment: the wheel declares what the
package needs (torch, torchaudio, ...), says exactly which command adds chatterbox-tts when it is missing, and then
synthesises on the tiny checkpoint."""
import subprocess, sys, textwrap, zipfile
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

def run(*cmd, timeout=1800, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, **kw)

def test_wheel_in_a_fresh_venv(tmp_path):
    from chatterbox_flash.env import CHATTERBOX_INSTALL
    dist = tmp_path / "dist"
    r = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, ROOT, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    whl = next(dist.glob("chatterbox_flash-*.whl"))
    names = zipfile.ZipFile(whl).namelist()
    assert "chatterbox_flash/assets/ref_voice.wav" in names and "chatterbox_flash/decode.py" in names
    meta = zipfile.ZipFile(whl).read(next(n for n in names if n.endswith("METADATA"))).decode()
    for req in ("torch", "torchaudio", "transformers", "fastcore"): assert f"Requires-Dist: {req}" in meta, req
    assert "Requires-Dist: chatterbox-tts" not in meta                      # its pins cannot coexist: see env

    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", venv).returncode == 0
    pip = [venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    r = run(*pip, "-c", ROOT / "constraints.txt", whl)                     # README: pip install chatterbox-flash
    assert r.returncode == 0, r.stderr[-3000:]
    py = venv / "bin" / "python"
    r = run(py, "-c", "from chatterbox_flash import ChatterboxFlashTTS; ChatterboxFlashTTS", cwd=tmp_path)
    assert r.returncode != 0 and CHATTERBOX_INSTALL in r.stderr, r.stderr[-2000:]   # the error names the command
    r = run(*CHATTERBOX_INSTALL.replace("pip install", f"{py} -m pip install -q").split(), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]

    synth = textwrap.dedent("""
        from chatterbox_flash import ChatterboxFlashTTS, tiny_checkpoint, REF_VOICE
        import chatterbox_flash, soundfile as sf
        assert 'site-packages' in chatterbox_flash.__file__, chatterbox_flash.__file__   # the installed wheel
        tts = ChatterboxFlashTTS.from_local(tiny_checkpoint(), device='cpu', dtype='float32', watermark=False)
        wav = tts.generate('Hello there.', audio_prompt_path=REF_VOICE, max_speech_tokens=25, temperature=0)
        sf.write('out.wav', wav[0].numpy(), tts.sr)
        print('ok', wav.shape[1])""")
    r = run(py, "-c", synth, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.split()[0] == "ok", r.stderr[-3000:]
    assert int(r.stdout.split()[1]) > 12000 and (tmp_path / "out.wav").stat().st_size > 0
