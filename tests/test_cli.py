"""End-to-end CLI tests: the offline main job, and every bad input ends in a one-line error naming the fix,
a non-zero exit code and no wav left behind. Most cases run in-process (`main(argv)`, the same function the
console script calls); the main job and the offline case (the Hub reads its settings at import) get a fresh
interpreter."""
import contextlib, io
import numpy as np, pytest, soundfile as sf, torch
from conftest import run_cli
from chatterbox_flash.tools.cli import main

def main_in_process(*args):
    "Run the CLI's `main` here; returns (exit code, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()

def wavs(d): return sorted(p.name for p in d.glob("*.wav")) if d.exists() else []

def test_main_job_tiny(tmp_path, ref_voice):
    """The README's main job: two texts on the tiny checkpoint -> two 24 kHz wavs of plausible length + an RTF line.
    No --audio_prompt: the tiny checkpoint speaks in the bundled voice."""
    out = tmp_path / "out"
    r = run_cli("--tiny", "--text", "Hello there.", "It is 3:45 pm on May 5th.", "--out_dir", out)
    assert r.returncode == 0, r.stderr[-2000:]
    assert wavs(out) == ["001_hello_there.wav", "002_it_is_3_45_pm_on_may_5th.wav"]
    for f in out.glob("*.wav"):
        info = sf.info(f)
        assert info.samplerate == 24000 and info.channels == 1
        assert 1.0 <= info.duration <= 2.5, info.duration          # 50 tokens at 25 Hz = 2 s, minus trimmed ids
    assert "RTF" in r.stdout and "2 wav(s)" in r.stdout
    assert "no --audio_prompt: speaking in the bundled voice (ref_voice.wav)" in r.stderr, r.stderr
    # quiet by default: no third-party warnings or prints, only our own lines (the --tiny note, the progress bar)
    assert not [ln for ln in r.stderr.splitlines() if "Warning" in ln], r.stderr
    assert "S3 Token" not in r.stdout and "PerthNet" not in r.stdout and "it/s" not in r.stderr, (r.stdout, r.stderr)

def test_batch_keeps_going_past_bad_line(tmp_path, ref_voice):
    out = tmp_path / "out"
    code, _, err = main_in_process("--tiny", "--audio_prompt", ref_voice, "--text", "Hello.", "   ", "Bye now.",
                                   "--out_dir", out, "--backend", "cpu", "--max_speech_tokens", "12", "--no_watermark",
                                   "--batch_size", "1")
    assert code == 1, err[-2000:]
    assert wavs(out) == ["001_hello.wav", "003_bye_now.wav"]
    assert "skipped text 2: Text is empty" in err

@pytest.fixture
def bad_audio(tmp_path):
    "Bad reference recordings, by name."
    d = tmp_path / "audio"; d.mkdir()
    (d / "empty.wav").write_bytes(b"")
    (d / "junk.wav").write_bytes(b"this is not audio" * 200)
    (d / "voice.txt").write_text("hello")
    sf.write(d / "short.wav", (np.random.randn(8000) * 0.1).astype(np.float32), 16000)
    sf.write(d / "silent.wav", np.zeros(48000, dtype=np.float32), 24000)
    return d

AUDIO_CASES = [("missing.wav", "not found"), ("empty.wav", "is empty"), ("junk.wav", "could not be read"),
               ("voice.txt", "unsupported format"), ("short.wav", "at least 1 s"), ("silent.wav", "is silent")]

@pytest.mark.parametrize("name,msg", AUDIO_CASES)
def test_bad_audio_prompt(tmp_path, bad_audio, name, msg):
    out = tmp_path / "out"
    code, _, err = main_in_process("--tiny", "--audio_prompt", bad_audio / name, "--text", "Hello.", "--out_dir", out,
                                   "--backend", "cpu")
    assert code == 2 and msg in err, err[-1500:]
    assert err.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in err
    assert wavs(out) == []

def _bad_text_file(tmp_path):
    f = tmp_path / "lines.txt"; f.write_text("# just a comment\n\n   \n"); return f

@pytest.mark.parametrize("args,msg", [
    (["--text", "  "], "Text is empty"),
    (["--text", "日本語です"], "no English letters"),
    (["TEXTFILE"], "no usable line"),
    (["--text", "Hi.", "--backend", "tpu"], "Unknown backend 'tpu'"),
    (["--text", "Hi.", "--backend", "cpu", "--dtype", "int8"], "Unknown dtype 'int8'"),
    (["--text", "Hi.", "--backend", "mlx", "--dtype", "bfloat16"], "float16 or float32"),
    (["--text", "Hi.", "--backend", "cpu", "--quantize", "int4"], "only with --backend mlx"),
    (["--text", "Hi.", "--threads", "0"], "--threads=0 is out of range"),
    (["--text", "Hi.", "--temperature", "-1"], "temperature=-1.0 is out of range: use a number from 0.0 to 10.0"),
    (["--text", "Hi.", "--num_steps", "0"], "num_steps=0 is out of range: use a whole number from 1 to 1000"),
    (["--text", "Hi.", "--eos_policy", "later"], "eos_policy='later' is out of range: use one of 'stop', 'complete'"),
    (["--text", "Hi.", "--batch_size", "0"], "--batch_size=0 is out of range"),
    (["--text", "Hi.", "--max_speech_tokens", "-5"], "--max_speech_tokens=-5 is out of range"),
    (["--text", "Hi.", "--out_dir", "/proc/chatterbox_out"], "cannot be created or written"),
])
def test_bad_options_and_text(tmp_path, ref_voice, args, msg):
    out = tmp_path / "out"
    args = [a if a != "TEXTFILE" else x for a in args for x in (["--text_file", _bad_text_file(tmp_path)] if a == "TEXTFILE" else [a])]
    code, _, err = main_in_process("--tiny", "--audio_prompt", ref_voice, "--out_dir", out, *args)
    assert code == 2 and msg in err, err[-1500:]
    assert "Traceback" not in err and wavs(out) == [] and not out.exists()     # nothing left behind

@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu(tmp_path, ref_voice):
    code, _, err = main_in_process("--tiny", "--text", "Hi.", "--backend", "gpu", "--out_dir", tmp_path / "o")
    assert code == 2 and "needs a CUDA GPU" in err and "--backend cpu" in err

def test_checkpoint_missing_file(tmp_path, tiny_ckpt, ref_voice):
    ck = tmp_path / "ck"; ck.mkdir()
    for f in ["t3_flash.safetensors", "ve.safetensors", "tokenizer.json", "config.json"]: (ck / f).symlink_to(tiny_ckpt / f)
    code, _, err = main_in_process("--checkpoint", ck, "--audio_prompt", ref_voice, "--text", "Hi.", "--backend", "cpu",
                                   "--out_dir", tmp_path / "o")
    assert code == 2 and "is missing s3gen.safetensors" in err, err[-1500:]
    assert wavs(tmp_path / "o") == []

@pytest.mark.parametrize("damage,msg", [("drop", "missing ['speech_head.weight']"), ("shape", "wrong shape")])
def test_checkpoint_bad_state_dict(tmp_path, tiny_ckpt, ref_voice, damage, msg):
    from safetensors.torch import load_file, save_file
    ck = tmp_path / "ck"; ck.mkdir()
    for f in ["s3gen.safetensors", "ve.safetensors", "tokenizer.json", "config.json"]: (ck / f).symlink_to(tiny_ckpt / f)
    sd = load_file(tiny_ckpt / "t3_flash.safetensors")
    if damage == "drop": sd.pop("speech_head.weight")
    else: sd["text_emb.weight"] = sd["text_emb.weight"][:100].contiguous()
    save_file(sd, ck / "t3_flash.safetensors")
    code, _, err = main_in_process("--checkpoint", ck, "--audio_prompt", ref_voice, "--text", "Hi.", "--backend", "cpu",
                                   "--out_dir", tmp_path / "o")
    assert code == 2 and msg in err, err[-1500:]
    assert "Traceback" not in err and wavs(tmp_path / "o") == []

def test_offline_nothing_cached(tmp_path, ref_voice):
    r = run_cli("--audio_prompt", ref_voice, "--text", "Hi.", "--backend", "cpu", "--out_dir", tmp_path / "o",
                env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert r.returncode == 2, r.stderr[-1500:]
    assert "Cannot get ResembleAI/chatterbox-flash" in r.stderr and "HF_HUB_OFFLINE" in r.stderr
    assert wavs(tmp_path / "o") == []
