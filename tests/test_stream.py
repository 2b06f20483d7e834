"""Streaming end to end: `--stream` writes the wav progressively and reports time to first audio; `examples/stream_pcm.py`
writes the same audio as raw 16-bit PCM on stdout. The stream's numerics (tokens = generate()'s, audio vs one-shot
within the stated tolerance) are tested in nbs/12_stream.ipynb."""
import subprocess, sys
from types import SimpleNamespace
import numpy as np, pytest, soundfile as sf
from conftest import run_cli, ROOT, PY

KNOBS = ["--backend", "cpu", "--max_speech_tokens", "32", "--no_watermark", "--seed", "0", "--temperature", "0",
         "--position_temperature", "0"]

@pytest.fixture(scope="module")
def cli_stream(tmp_path_factory, ref_voice):
    "One `--stream` run on the tiny checkpoint: a good text and one that cannot be spoken."
    out = tmp_path_factory.mktemp("stream") / "out"
    r = run_cli("--tiny", "--audio_prompt", ref_voice, "--text", "Hello there.", "   ", "--out_dir", out, "--stream", *KNOBS)
    return r, out

def test_cli_stream(cli_stream):
    r, out = cli_stream
    assert r.returncode == 1, r.stderr[-2000:]                      # 1: a text was skipped, the rest written
    assert sorted(p.name for p in out.glob("*.wav")) == ["001_hello_there.wav"]
    info = sf.info(out / "001_hello_there.wav")
    assert info.samplerate == 24000 and info.channels == 1 and info.subtype == "PCM_16"
    assert 0 < info.frames <= 32 * 960 and info.frames % 960 == 0   # 960 samples per codec token (ids >= 6561 dropped)
    assert "first audio after" in r.stdout and "time to first audio" in r.stdout, r.stdout
    assert "skipped text 2: Text is empty" in r.stderr

def test_example_stream_pcm(cli_stream, ref_voice):
    "examples/stream_pcm.py: raw s16le on stdout, nothing else; same audio as the CLI's streamed wav (same seed/knobs)."
    _, out = cli_stream
    r = subprocess.run([PY, str(ROOT / "examples" / "stream_pcm.py"), "--tiny", "--audio_prompt", str(ref_voice),
                        "--text", "Hello there.", *[k for k in KNOBS if k != "--no_watermark"]],
                       capture_output=True, timeout=900, cwd=ROOT)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err[-2000:]
    wav, _ = sf.read(out / "001_hello_there.wav", dtype="int16")
    assert len(r.stdout) == 2 * len(wav) > 0                        # the byte count: 2 bytes per sample
    pcm = np.frombuffer(r.stdout, dtype="<i2")
    assert np.abs(pcm.astype(int) - wav.astype(int)).max() <= 1     # same samples (float->int16 rounding may differ by 1)
    assert f"wrote {len(wav)} samples" in err and "first audio after" in err

def test_stream_wav_grows_while_streaming(tmp_path, monkeypatch):
    "The CLI appends every chunk to the wav as it arrives (checked with a stand-in model that yields 3 chunks)."
    from chatterbox_flash import cli
    sizes = []
    class FakeTTS:
        sr, watermark, backend = 24000, False, SimpleNamespace(name="cpu")
        t3 = SimpleNamespace(device="cpu")
        def prepare_conditionals(self, path): pass
        def generate_stream(self, text, **kw):
            def gen():
                for k in range(3):
                    if k: sizes.append(sf.info(tmp_path / "001_hi.wav").frames)   # what a reader sees mid-stream
                    yield np.full(4800, 0.1 * (k + 1), np.float32)
            return gen()
    a = cli.build_parser().parse_args(["--audio_prompt", "x.wav", "--text", "Hi.", "--out_dir", str(tmp_path), "--stream"])
    assert cli.run_stream(a, FakeTTS(), ["Hi."]) == 0
    assert sizes == [4800, 9600]
    wav, _ = sf.read(tmp_path / "001_hi.wav")
    assert len(wav) == 14400 and np.allclose(wav[::4800], [0.1, 0.2, 0.3], atol=1e-4)
