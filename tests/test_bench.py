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
    ar = d["rows"][0]
    assert ar["vs_ar"] == 1.0
    for row in d["rows"]:                     # the derived columns follow from the measured seconds and counts
        assert abs(row["tokens_per_s"] - row["tokens"] / row["seconds"]) < 1e-6 * row["tokens_per_s"]
        assert abs(row["vs_ar"] - row["tokens_per_s"] / ar["tokens_per_s"]) < 1e-9
        assert row["forwards_per_token"] == row["forwards"] / row["tokens"]
    assert [row["batch"] for row in d["rows"]] == [1, 1, 2]
    assert d["rows"][1]["forwards"] == 1 + 10           # one block of 16: the prefix and 10 steps (the last block needs no commit)
    assert "vs AR" in r.stdout

def test_bench_server_script_tiny(tmp_path):
    "The server benchmark on the tiny checkpoint, one small level: its JSON holds what the Serving page draws."
    out = tmp_path / "server_bench.json"
    r = subprocess.run([PY, str(ROOT / "scripts/bench_server.py"), "--clients", "2", "--max_batch", "2",
                        "--vocoder_batch", "2",
                        "--requests", "1", "--max_speech_tokens", "16", "--out", str(out),
                        "--tiny", "--backend", "cpu", "--dtype", "float32"],
                       capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    d = json.loads(out.read_text())
    assert [(x["max_batch"], x["vocoder_batch"], x["clients"]) for x in d["runs"]] == [(2, 2, 2)]
    for x in d["runs"]:
        assert x["requests"] == x["clients"] * d["requests_per_client"]
        assert x["ttfa_p50"] <= x["total_p50"] and x["ttfa_p95"] <= x["total_p95"]
        assert abs(x["throughput"] - x["audio_s"] / x["wall_s"]) < 1e-9 and x["audio_s"] > 0
