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

def test_public_names_in_a_fresh_interpreter():
    """Each class imported alone (no `chatterbox_flash` module imported before it) has every method its row lists,
    and every name of the table is in `__all__` and imports. One interpreter imports the third-party stack once, then
    forks a child per class: each child starts with no `chatterbox_flash` module loaded, as a fresh interpreter
    would; the names are imported last, in the parent."""
    rows = {n: attrs for n, attrs in api_table().items() if attrs}
    names = sorted(api_table())
    assert len(rows) >= 3
    r = fresh(f"""
        import os, sys, torch, chatterbox.tts
        assert not any(m.startswith('chatterbox_flash') for m in sys.modules)
        bad = []
        for name, attrs in {rows!r}.items():
            pid = os.fork()
            if pid == 0:
                obj = getattr(__import__('chatterbox_flash', fromlist=[name]), name)
                os._exit(0 if all(hasattr(obj, a) for a in attrs) else 1)
            if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0: bad.append(name)
        assert not bad, bad
        import chatterbox_flash
        assert set({names!r}) <= set(chatterbox_flash.__all__), set({names!r}) - set(chatterbox_flash.__all__)
        from chatterbox_flash import {", ".join(names)}
        print('ok', len({rows!r}))""")
    assert r.returncode == 0 and r.stdout.strip() == f"ok {len(rows)}", r.stderr[-2000:]

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
