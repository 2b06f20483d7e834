#!/usr/bin/env python
"""Benchmark `chatterbox-flash serve`: the batched vocoder against one piece at a time (`--vocoder_batch 1`), and
continuous batching against one row at a time (`--max_batch 1`).

For each server setting (every `--max_batch` with every `--vocoder_batch`) a fresh server process is started;
then, for each number of concurrent clients, every client sends `--requests` streamed requests one after another
(response_format pcm) and we record, per request,
the time to the first audio bytes and to the last one. Reported per setting and concurrency: throughput (seconds of
audio per wall second), time to first audio and total latency (p50, p95). Results go to a JSON file (the Serving
notebook plots it) and a table on stdout.

    python scripts/bench_server.py                          # offline: tiny T3, released-size S3Gen, default dtype
    python scripts/bench_server.py --tiny --backend cpu --dtype float32 --max_batch 16 1     # tiny, both batchings
    python scripts/bench_server.py --checkpoint DIR --backend gpu --max_speech_tokens 250
"""
import argparse, json, os, socket, subprocess, sys, threading, time
from pathlib import Path
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["Hello there, how are you today?", "The quick brown fox jumps over the lazy dog.",
         "Streaming speech arrives block by block.", "Numbers like forty two are spoken in words.",
         "Continuous batching lets requests join at once.", "A short one.", "Every row stops on its own.",
         "The server keeps serving while clients come and go."]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_flags: list, max_batch: int, vocoder_batch: int, max_queue: int, log):
    import httpx
    port = free_port()
    code = "import sys; from chatterbox_flash.tools.cli import main; sys.exit(main())"
    flags = ["--port", str(port), "--max_batch", str(max_batch), "--vocoder_batch", str(vocoder_batch),
             "--max_queue", str(max_queue), "--no_watermark", *model_flags]
    p = subprocess.Popen([sys.executable, "-c", code, "serve", *flags], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    for _ in range(2400):
        if p.poll() is not None: raise RuntimeError(f"server exited with {p.returncode}")
        try:
            if httpx.get(base + "/health", timeout=2).status_code == 200: return p, base
        except httpx.HTTPError: pass
        time.sleep(0.5)
    p.terminate()
    raise TimeoutError("server did not start")


def one_request(base: str, text: str, tokens: int, knobs: dict) -> dict:
    "A streamed pcm request: seconds to first bytes and to the end, seconds of audio."
    import httpx
    body = dict(model="chatterbox-flash", input=text, voice="default", response_format="pcm",
                max_speech_tokens=tokens, **knobs)
    t0, first, n = time.monotonic(), None, 0
    with httpx.stream("POST", base + "/v1/audio/speech", json=body, timeout=3600) as r:
        r.raise_for_status()
        for b in r.iter_bytes():
            if first is None and b: first = time.monotonic() - t0
            n += len(b)
    return dict(ttfa=first, total=time.monotonic() - t0, audio=n / 2 / 24000)


def run_level(base: str, clients: int, requests: int, tokens: int, knobs: dict) -> dict:
    "`clients` threads, each sending `requests` requests in a row; the level's figures."
    res, lock = [], threading.Lock()
    def client(i):
        for k in range(requests):
            r = one_request(base, TEXTS[(i + k) % len(TEXTS)], tokens, knobs)
            with lock: res.append(r)
    t0 = time.monotonic()
    ts = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in ts: t.start()
    for t in ts: t.join()
    wall = time.monotonic() - t0
    q = lambda k, p: float(np.percentile([r[k] for r in res], p))
    return dict(clients=clients, requests=len(res), wall_s=wall, audio_s=sum(r["audio"] for r in res),
                throughput=sum(r["audio"] for r in res) / wall, ttfa_p50=q("ttfa", 50), ttfa_p95=q("ttfa", 95),
                total_p50=q("total", 50), total_p95=q("total", 95))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16], help="concurrent clients (default 1 4 16)")
    p.add_argument("--max_batch", type=int, nargs="+", default=[16],
                   help="server --max_batch settings to compare (default 16: continuous batching; 1: a row at a time)")
    p.add_argument("--vocoder_batch", type=int, nargs="+", default=[16, 1],
                   help="server --vocoder_batch settings to compare (default 16: batched vocoder, and 1)")
    p.add_argument("--requests", type=int, default=2, help="requests per client per level (default 2)")
    p.add_argument("--max_speech_tokens", type=int, default=48, help="speech tokens per request (default 48)")
    p.add_argument("--temperature", type=float, default=0.0, help="decode temperature (default 0: deterministic)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "server_bench.json"), help="results JSON")
    a, model_flags = p.parse_known_args(argv)                   # the rest goes to the server (--tiny, --backend ...)
    model_flags = model_flags or ["--tiny", "--full_s3gen", "--backend", "cpu"]
    knobs = dict(temperature=a.temperature, position_temperature=0.0)
    log = open(Path(a.out).with_suffix(".log"), "w") if Path(a.out).parent.is_dir() else subprocess.DEVNULL
    from chatterbox_flash.tools.bench import machine
    h = machine()
    print(f"{h['cpu']} | {h['flags']} | {h['threads']} threads | torch {h['torch']} | auto dtype {h['auto_dtype']}",
          flush=True)
    results = dict(machine=h, model_flags=model_flags, max_speech_tokens=a.max_speech_tokens,
                   requests_per_client=a.requests, runs=[])
    for mb, vb in [(mb, vb) for mb in a.max_batch for vb in a.vocoder_batch]:
        proc, base = start_server(model_flags + ["--max_speech_tokens", str(a.max_speech_tokens)], mb, vb,
                                  max(a.clients) * 2, log)
        try:
            one_request(base, "Warm up.", 16, knobs)                  # first-call costs out of the figures
            for c in a.clients:
                r = dict(max_batch=mb, vocoder_batch=vb, **run_level(base, c, a.requests, a.max_speech_tokens, knobs))
                results["runs"].append(r)
                print(f"max_batch {mb:3d} vocoder_batch {vb:3d} clients {c:3d}: {r['throughput']:.3f} audio s / wall s; "
                      f"time to first "
                      f"audio p50 {r['ttfa_p50']:.2f} s p95 {r['ttfa_p95']:.2f} s; total p50 {r['total_p50']:.2f} s "
                      f"p95 {r['total_p95']:.2f} s ({r['requests']} requests)", flush=True)
        finally:
            proc.terminate()
            proc.wait(60)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(results, indent=1))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
