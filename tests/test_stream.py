"""Streaming end to end: `--stream` writes the wav progressively and reports time to first audio; `examples/stream_pcm.py`
writes the same audio as raw 16-bit PCM on stdout. The stream's numerics (tokens = generate()'s, audio vs one-shot
within the stated tolerance) are tested in nbs/20_stream.ipynb."""
import subprocess, sys
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
                        "--text", "Hello there.", *KNOBS],
                       capture_output=True, timeout=900, cwd=ROOT)
    err = r.stderr.decode(errors="replace")
    assert r.returncode == 0, err[-2000:]
    wav, _ = sf.read(out / "001_hello_there.wav", dtype="int16")
    assert len(r.stdout) == 2 * len(wav) > 0                        # the byte count: 2 bytes per sample
    pcm = np.frombuffer(r.stdout, dtype="<i2")
    assert np.abs(pcm.astype(int) - wav.astype(int)).max() <= 1     # same samples (float->int16 rounding may differ by 1)
    assert f"wrote {len(wav)} samples" in err and "first audio after" in err

def test_stream_wav_grows_while_streaming(tmp_path, tiny_ckpt):
    "The CLI appends every chunk to the wav as it arrives: the file is read between chunks of a real tiny stream."
    from chatterbox_flash import ChatterboxFlashTTS, REF_VOICE
    from chatterbox_flash.tools import cli
    tts = ChatterboxFlashTTS.from_local(tiny_ckpt, device="cpu", dtype="float32", watermark=False)
    real, f, sizes = tts.generate_stream, tmp_path / "001_hi.wav", []
    def watched(text, **kw):
        for k, chunk in enumerate(real(text, chunk_blocks=1, **kw)):            # a chunk per block
            if k: sizes.append(sf.info(f).frames)                     # what a reader sees mid-stream
            yield chunk
    tts.generate_stream = watched
    a = cli.build_parser().parse_args(["--audio_prompt", str(REF_VOICE), "--text", "Hi.", "--out_dir", str(tmp_path),
                                       "--stream", *KNOBS, "--max_speech_tokens", "48"])
    assert cli.run_stream(a, tts, ["Hi."], cli.check_args(a)) == 0
    total = sf.info(f).frames
    assert len(sizes) >= 2 and 0 < sizes[0] < sizes[-1] < total, (sizes, total)   # 3 blocks: the file grew twice
