"""The public API as a new user meets it: each name imported from `chatterbox_flash` in a fresh interpreter has every
method the API page (nbs/30_api.ipynb) lists, with no other import; generate and generate_stream run on the tiny
checkpoint."""
import json, re, subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

def api_table() -> dict[str, list[str]]:
    "Public name -> the methods/attributes its row of the API table lists (backticked words in the last column)."
    nb = json.loads((ROOT / "nbs" / "30_api.ipynb").read_text())
    md = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    rows = {}
    for line in md.splitlines():
        cols = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cols) != 3 or not cols[0].startswith("`"): continue
        names = re.findall(r"`(\w+)`", cols[0])
        attrs = re.findall(r"`(\w+)`", cols[2].split(":", 1)[1]) if ":" in cols[2] else []
        for n in names: rows[n] = attrs
    return rows

def fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT,
                          timeout=900)

def test_table_is_read():
    rows = api_table()
    assert "generate_stream" in rows["ChatterboxFlashTTS"] and "generate" in rows["ChatterboxFlashT3"]
    assert len(rows) >= 15

@pytest.mark.parametrize("name", sorted(n for n, attrs in api_table().items() if attrs))
def test_class_has_its_methods_in_a_fresh_interpreter(name):
    "A class imported alone (nothing else imported before it) has every method its row lists."
    attrs = api_table()[name]
    r = fresh(f"""
        from chatterbox_flash import {name} as obj
        missing = [a for a in {attrs!r} if not hasattr(obj, a)]
        assert not missing, missing
        print('ok')""")
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]

def test_every_public_name_imports():
    names = sorted(api_table())
    r = fresh(f"""
        import chatterbox_flash
        assert set({names!r}) <= set(chatterbox_flash.__all__), set({names!r}) - set(chatterbox_flash.__all__)
        from chatterbox_flash import {", ".join(names)}
        print('ok')""")
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]

def test_generate_and_stream_run_with_only_public_imports():
    r = fresh("""
        import torch
        from chatterbox_flash import ChatterboxFlashTTS, ChatterboxFlashT3, load_t3, tiny_checkpoint, REF_VOICE, random_voice
        tts = ChatterboxFlashTTS.from_local(tiny_checkpoint(), device='cpu', dtype='float32', watermark=False)
        wav = tts.generate('Hello there.', audio_prompt_path=REF_VOICE, max_speech_tokens=20, temperature=0)
        assert wav.shape[0] == 1 and wav.shape[1] > 0
        chunks = list(tts.generate_stream('Hello there.', max_speech_tokens=20, temperature=0, vocoder_seed=0))
        assert sum(len(c) for c in chunks) > 0
        t3 = load_t3(tiny_checkpoint())
        assert isinstance(t3, ChatterboxFlashT3)
        cond, text = random_voice(0, 8)
        toks = t3.generate(t3_cond=cond, text_tokens=text, total_speech_len=24, temperature=0)
        assert toks.shape == (1, 24)
        print('ok')""")
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-3000:]
