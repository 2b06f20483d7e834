"""`chatterbox-flash batch` end to end: a job of twenty rows, some of them bad, run here and on a real local Ray
cluster (Ray Data, two actors, two blocks) writes the same ids, statuses and reasons, and audio that decodes; a
job killed partway (SIGKILL) and run again loses no row, writes none twice and leaves no partial file. One Ray
cluster for the file (two CPUs), started only by the test that needs it."""
import contextlib, io, json, os, signal, subprocess, sys, time
from pathlib import Path
import pyarrow.parquet as pq, pytest, soundfile as sf
from chatterbox_flash.tools.cli import main

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
MODEL = ["--tiny", "--backend", "cpu", "--dtype", "float32", "--no_watermark", "--max_speech_tokens", "16",
         "--threads", "1", "--no_progress"]         # one thread: faster than two on cores other tests share

def batch(*args):
    "`chatterbox-flash batch ...` in this process: (exit code, stdout, stderr)."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["batch", *map(str, args), *MODEL])
    return code, out.getvalue(), err.getvalue()

def manifest(d: Path) -> dict:
    rows = pq.read_table(d / "manifest.parquet").to_pylist()
    assert len({r["id"] for r in rows}) == len(rows), "an id twice in the manifest"
    return {r["id"]: r for r in rows}

@pytest.fixture(scope="module")
def job(tmp_path_factory, ref_voice):
    "Twenty rows: sixteen to speak (one in its own voice), and four bad ones (empty, no English, too long, lost voice)."
    d = tmp_path_factory.mktemp("job")
    rows = [dict(id=f"r{i:02d}", text=f"Sentence number {i}, short.") for i in range(1, 21)]
    rows[2]["voice"] = str(ref_voice)
    rows[4]["text"] = ""
    rows[8]["text"] = "???"
    rows[12]["text"] = "Far too long for this job. " * 4
    rows[16]["voice"] = "missing.wav"
    (d / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return d / "rows.jsonl"

BAD = {"r05": "Text is empty", "r09": "contains no English letters", "r13": "at most 80 (--max_chars)",
       "r17": "missing.wav not found"}

def check_job(out: Path) -> dict:
    m = manifest(out)
    assert sorted(m) == [f"r{i:02d}" for i in range(1, 21)]
    assert {k for k, r in m.items() if r["status"] == "error"} == set(BAD)
    for k, why in BAD.items(): assert why in m[k]["error"], (k, m[k]["error"])
    for r in m.values():
        if r["status"] != "ok": continue
        w, sr = sf.read(r["path"])
        assert sr == r["sample_rate"] == 24000 and len(w) / sr == r["seconds"] > 0 and Path(r["path"]).parent == out
    assert not list(out.glob(".*.part")) and not (out / ".staged").exists()
    return m

@pytest.fixture(scope="module")
def local_run(job, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "wavs"
    code, stdout, stderr = batch(job, "--out_dir", out, "--max_chars", 80, "--batch_size", 8)
    assert code == 1, stderr[-3000:]
    assert "20 rows: 16 ok (0 written before), 4 errors" in stdout, stdout
    return out

def test_local_job(local_run):
    check_job(local_run)

@pytest.fixture(scope="module")
def ray_cluster():
    from chatterbox_flash.runtime.cluster import init_ray
    auth = os.environ.get("RAY_AUTH_MODE")
    ray = init_ray(num_cpus=2)
    assert auth is not None or os.environ["RAY_AUTH_MODE"] == "token"       # a local cluster keeps token auth on
    assert auth is not None or (Path.home() / ".ray" / "auth_token").is_file()
    yield ray
    ray.shutdown()

def test_ray_job_matches_local(job, local_run, ray_cluster, tmp_path):
    "Two actors of half a CPU (a reader keeps the other CPU), two blocks of ten rows: the local job's records."
    out = tmp_path / "wavs"
    code, stdout, stderr = batch(job, "--out_dir", out, "--max_chars", 80, "--batch_size", 4, "--ray",
                                 "--replicas", 2, "--cpus_per_replica", 0.5, "--shard_rows", 10)
    assert code == 1, stderr[-3000:]
    assert "20 rows: 16 ok (0 written before), 4 errors" in stdout, stdout
    ours, theirs = check_job(out), manifest(local_run)
    key = lambda m: {k: (r["status"], r["error"], r["text"]) for k, r in m.items()}
    assert key(ours) == key(theirs)
    code, stdout, _ = batch(job, "--out_dir", out, "--max_chars", 80, "--ray", "--replicas", 2,
                            "--cpus_per_replica", 0.5)                 # again: nothing to speak, nothing staged
    assert code == 1 and "16 ok (16 written before)" in stdout, stdout

def test_ray_job_that_cannot_fit(job, ray_cluster, tmp_path):
    "Two whole-CPU actors would leave Ray Data's reader no CPU and wait forever: refused, naming the fix."
    code, _, stderr = batch(job, "--out_dir", tmp_path, "--max_chars", 80, "--ray", "--replicas", 2)
    assert code == 2 and "lower --cpus_per_replica (fractions are fine, e.g. 0.5)" in stderr, stderr

def test_killed_job_loses_nothing(tmp_path):
    "SIGKILL a job while it writes; run it again: every row once, the earlier wavs untouched, no partial file."
    n = 24
    (tmp_path / "lines.txt").write_text("".join(f"Line {i} of the killed job.\n" for i in range(1, n + 1)))
    out = tmp_path / "wavs"
    code = "import sys; from chatterbox_flash.tools.cli import main; sys.exit(main())"
    p = subprocess.Popen([sys.executable, "-c", code, "batch", str(tmp_path / "lines.txt"), "--out_dir", str(out),
                          "--batch_size", "1", *MODEL], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while len(list(out.glob("*.wav"))) < 3 and p.poll() is None: time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
        assert p.wait(60) == -signal.SIGKILL, p.stderr.read().decode()[-3000:]          # killed, not finished
    finally:
        if p.poll() is None: p.kill()
    before = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in out.glob("*.wav")}
    assert 3 <= len(before) < n and not (out / "manifest.parquet").exists()
    for f in out.glob("*.wav"): sf.read(f)                                         # every wav there is whole
    code, stdout, stderr = batch(tmp_path / "lines.txt", "--out_dir", out, "--batch_size", 4)
    assert code == 0, stderr[-3000:]
    assert f"{n} rows: {n} ok ({len(before)} written before), 0 errors" in stdout, stdout
    m = manifest(out)
    assert sorted(m) == [f"{i:08d}" for i in range(1, n + 1)] and all(r["status"] == "ok" for r in m.values())
    assert {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in out.glob("*.wav") if f.name in before} == before
    assert sorted(f.name for f in out.iterdir()) == sorted([".lock", "manifest.parquet", *(f"{k}.wav" for k in m)])
    for r in m.values(): assert sf.info(r["path"]).frames / 24000 == r["seconds"]
