"Smoke test of the benchmark script on the tiny checkpoint (numbers are not asserted: timings stay out of tests)."
import json, subprocess, sys
from conftest import ROOT, PY

def test_bench_script_tiny(tmp_path, tiny_ckpt):
    out = tmp_path / "bench.json"
    r = subprocess.run([PY, str(ROOT / "scripts/bench.py"), "--tiny", "--speech_tokens", "16", "--batch_sizes", "1", "2",
                        "--json", str(out)], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(out.read_text())
    engines = [row["engine"] for row in d["rows"]]
    assert engines[0].startswith("chatterbox T3.inference") and len(engines) == 3
    for row in d["rows"]:
        assert row["tokens_per_s"] > 0 and row["forwards_per_token"] > 0 and "vs_ar" in row
    assert d["rows"][1]["forwards"] == 1 + 10           # one block of 16: the prefix and 10 steps (the last block needs no commit)
    assert "vs AR" in r.stdout
