#!/usr/bin/env python
"""Benchmark scaling out: `chatterbox-flash serve` against `serve --ray` with 1 and 2 replicas, and `batch` here against
`batch --ray`, all in one run on one machine (ratios within a run are what compare; absolute numbers depend on the load).

Serving: each setting is a fresh server process. We record the seconds from launching the command to the first 200
of /health (for `--ray`: starting the cluster, Serve and the replicas), then `--clients` concurrent clients each send
`--requests` streamed pcm requests; per request the time to the first audio bytes (TTFA) and the seconds of audio.
Reported: audio seconds per wall second, TTFA p50/p95, and the peak RSS of each process holding a model (the server,
or each Serve replica, from /proc's VmHWM).

Batch: one job of `--rows` rows, run as `chatterbox-flash batch` and as `batch --ray`, from launch to exit: audio
seconds per wall second (model loading and, for Ray, the cluster's start included).

    python scripts/bench_scale.py                            # tiny checkpoint, CPU, float32; writes the JSON below
    python scripts/bench_scale.py --skip_batch --clients 8
"""
import argparse, json, os, re, signal, socket, subprocess, sys, tempfile, threading, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from bench_server import one_request as server_request          # noqa: E402  (the same request as bench_server)
CODE = "import sys; from chatterbox_flash.tools.cli import main; sys.exit(main())"
TEXTS = ["Hello there, how are you today?", "The quick brown fox jumps over the lazy dog.",
         "Streaming speech arrives block by block.", "Numbers like forty two are spoken in words."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb(pattern: str, pids=()) -> list:
    "Peak RSS (VmHWM, MB) of the processes `pids` and of those whose command line matches `pattern`."
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit(): continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if int(d.name) in pids or (pattern and re.search(pattern, cmd)):
                hwm = re.search(r"VmHWM:\s+(\d+) kB", (d / "status").read_text())
                if hwm: out.append(round(int(hwm.group(1)) / 1024))
        except (OSError, ValueError): continue
    return out


def start_server(flags: list, log):
    import httpx
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, "-c", CODE, "serve", "--port", str(port), *flags], stdout=log,
                         stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() - t0 < 1200:
        if p.poll() is not None: raise RuntimeError(f"server exited with {p.returncode}")
        try:
            if httpx.get(base + "/health", timeout=5).status_code == 200: return p, base, time.monotonic() - t0
        except httpx.HTTPError: pass
        time.sleep(0.25)
    os.killpg(p.pid, signal.SIGKILL)
    raise TimeoutError("server did not start")


def one_request(base: str, text: str, tokens: int) -> dict:
    "A streamed pcm request, as the server benchmark sends it (deterministic knobs)."
    return server_request(base, text, tokens, dict(temperature=0, position_temperature=0))


def load(base: str, clients: int, requests: int, tokens: int) -> dict:
    res, lock = [], threading.Lock()
    def client(i):
        for j in range(requests):
            r = one_request(base, TEXTS[(i + j) % len(TEXTS)], tokens)
            with lock: res.append(r)
    one_request(base, "Warm up.", 16)
    t0 = time.monotonic()
    th = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in th: t.start()
    for t in th: t.join()
    wall = time.monotonic() - t0
    ttfa = np.array([r["ttfa"] for r in res])
    return dict(audio_s_per_wall_s=sum(r["audio"] for r in res) / wall, ttfa_p50=float(np.percentile(ttfa, 50)),
                ttfa_p95=float(np.percentile(ttfa, 95)), requests=len(res), wall=wall)


def bench_serve(name: str, flags: list, a, tmp: Path) -> dict:
    log = open(tmp / f"{name}.log", "w")
    p, base, startup = start_server(flags, log)
    try:
        r = load(base, a.clients, a.requests, a.tokens)
        rss = peak_rss_mb(r"ServeReplica:chatterbox-flash") if "--ray" in flags else peak_rss_mb("", {p.pid})
    finally:
        p.send_signal(signal.SIGTERM)
        try: p.wait(120)
        except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL)
    return dict(name=name, kind="serve", startup_s=startup, peak_rss_mb=rss, **r)


def bench_batch(name: str, flags: list, a, tmp: Path) -> dict:
    rows = tmp / "rows.txt"
    rows.write_text("".join(TEXTS[i % len(TEXTS)] + "\n" for i in range(a.rows)))
    out = tmp / f"out_{name}"
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", CODE, "batch", str(rows), "--out_dir", str(out), "--no_progress",
                        "--max_speech_tokens", str(a.tokens), *flags], capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - t0
    assert r.returncode == 0, r.stderr[-3000:]
    secs = float(re.search(r"([\d.]+) s of audio", r.stdout).group(1))
    return dict(name=name, kind="batch", wall=wall, audio_s=secs, audio_s_per_wall_s=secs / wall, rows=a.rows)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--requests", type=int, default=3, help="requests per client")
    p.add_argument("--tokens", type=int, default=48, help="speech tokens per request / row (25 per second)")
    p.add_argument("--rows", type=int, default=32)
    p.add_argument("--skip_batch", action="store_true")
    p.add_argument("--skip_serve", action="store_true")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "scale" / "scale_bench.json"))
    a = p.parse_args()
    model = ["--tiny", "--backend", "cpu", "--dtype", "float32", "--no_watermark"]
    tmp = Path(tempfile.mkdtemp(prefix="bench_scale_"))
    serve = [("serve (2 threads)", [*model, "--threads", "2", "--max_speech_tokens", "400"]),
             ("serve --ray, 1 replica", [*model, "--ray", "--replicas", "1", "--cpus_per_replica", "1",
                                         "--max_speech_tokens", "400"]),
             ("serve --ray, 2 replicas", [*model, "--ray", "--replicas", "2", "--cpus_per_replica", "1",
                                          "--max_speech_tokens", "400"])]
    batch = [("batch (2 threads)", [*model, "--threads", "2", "--batch_size", "8"]),
             ("batch (1 thread)", [*model, "--threads", "1", "--batch_size", "8"]),
             ("batch --ray, 2 replicas", [*model, "--batch_size", "8", "--ray", "--replicas", "2",
                                          "--cpus_per_replica", "0.5", "--shard_rows", "8"])]
    out = Path(a.out)
    old = json.loads(out.read_text())["results"] if out.exists() else []     # a partial run keeps the other half
    results = [r for r in old if (r["kind"] == "serve" and a.skip_serve) or (r["kind"] == "batch" and a.skip_batch)]
    for name, flags in ([] if a.skip_serve else serve) + ([] if a.skip_batch else batch):
        r = (bench_serve if name.startswith("serve") else bench_batch)(re.sub(r"\W+", "_", name), flags, a, tmp)
        r["name"] = name
        results.append(r)
        print(json.dumps(r), flush=True)
    results.sort(key=lambda r: r["kind"] == "batch")
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(cpus=os.cpu_count(), load_avg=os.getloadavg(), clients=a.clients, requests=a.requests,
                tokens=a.tokens, rows=a.rows, date=time.strftime("%Y-%m-%d"))
    out.write_text(json.dumps(dict(meta=meta, results=results), indent=1))
    print(f"\n{'setting':28} {'audio-s/wall-s':>14} {'TTFA p50':>9} {'TTFA p95':>9} {'start s':>8}  peak RSS MB")
    for r in results:
        print(f"{r['name']:28} {r['audio_s_per_wall_s']:14.2f} {r.get('ttfa_p50', float('nan')):9.2f} "
              f"{r.get('ttfa_p95', float('nan')):9.2f} {r.get('startup_s', r.get('wall', 0)):8.1f}  "
              f"{r.get('peak_rss_mb', '')}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
