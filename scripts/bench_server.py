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

Soak (`--soak MINUTES`): one server, `--clients` clients (default 16) for that long, each sending a random mix of
streamed and whole requests in every format, SSE, voice uploads (then speech in that voice, then a delete), clients
that vanish mid-stream and bad requests. Every request must end (no hang past its timeout) with an expected status;
the server's RSS, live rows and queue are sampled every 2 s; afterwards both must return to their idle level.
After a warm-up minute, at a third and at two thirds of the run, and after it, the clients rest until every request
has ended: the server's idle RSS then (it gives its heap's free pages back when idle) shows whether memory grows with
the requests served.

    python scripts/bench_server.py --soak 10 --tiny --backend cpu --out benchmarks/server_soak.json
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


EXPECTED = {"stream": {200}, "whole": {200}, "sse": {200}, "voice": {201, 200}, "vanish": {200}, "bad": {400},
            "full": {429}}


def rss_mb(pid: int) -> float:
    "Resident memory of process `pid` in MB (Linux /proc)."
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"): return int(line.split()[1]) / 1024
    return float("nan")


def gauges(base: str) -> dict:
    "Live rows and queue depth from /metrics."
    import httpx
    out = {}
    for line in httpx.get(base + "/metrics", timeout=30).text.splitlines():
        for k in ("live_rows", "queue_depth"):
            if line.startswith(f"chatterbox_flash_{k} "): out[k] = float(line.split()[1])
    return out


def soak_action(base: str, kind: str, rng, voice_wav: bytes, tokens: int, knobs: dict) -> int:
    "One request of `kind`; its HTTP status (429 counts as the queue being full, never as a failure)."
    import httpx
    text = TEXTS[int(rng.integers(len(TEXTS)))]
    body = dict(model="chatterbox-flash", input=text, voice="default", max_speech_tokens=tokens, **knobs)
    fmt = ["pcm", "wav", "mp3", "opus", "aac", "flac"][int(rng.integers(6))]
    with httpx.Client(base_url=base, timeout=300) as c:
        if kind == "stream" or kind == "vanish" or kind == "sse":
            extra = dict(stream_format="sse") if kind == "sse" else {}
            with c.stream("POST", "/v1/audio/speech", json=dict(body, response_format=fmt, **extra)) as r:
                for _ in r.iter_bytes():
                    if kind == "vanish": break                      # the client goes away after its first bytes
                return r.status_code
        if kind == "whole":
            return c.post("/v1/audio/speech", json=dict(body, response_format=fmt, stream=False)).status_code
        if kind == "bad":
            return c.post("/v1/audio/speech", json=dict(body, temperature=-1)).status_code
        r = c.post("/v1/voices", data=dict(name="soak"), files=dict(file=("v.wav", voice_wav, "audio/wav")))
        if r.status_code != 201: return r.status_code
        vid = r.json()["id"]
        s = c.post("/v1/audio/speech", json=dict(body, voice=vid, response_format="wav", stream=False)).status_code
        d = c.delete(f"/v1/voices/{vid}").status_code
        return s if s != 200 else d


def soak(a, model_flags: list, knobs: dict, log) -> dict:
    "The soak run (see the module docstring); its samples and per-kind status counts."
    import httpx
    from chatterbox_flash.checkpoints.tiny import REF_VOICE
    voice_wav = Path(REF_VOICE).read_bytes()
    clients = a.clients[-1]
    proc, base = start_server(model_flags + ["--max_speech_tokens", str(a.max_speech_tokens)], a.max_batch[0],
                              a.vocoder_batch[0], clients, log)
    kinds = ["stream", "whole", "sse", "voice", "vanish", "bad"]
    weights = np.array([4, 3, 2, 1, 2, 1], float)
    statuses, lock, samples, stop, pause, busy = {}, threading.Lock(), [], threading.Event(), threading.Event(), [0]
    def client(i):
        rng = np.random.default_rng(i)
        while not stop.is_set():
            with lock:
                resting = pause.is_set()
                busy[0] += not resting
            if resting:
                time.sleep(0.2)
                continue
            kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
            try: st = soak_action(base, kind, rng, voice_wav, a.max_speech_tokens, knobs)
            except httpx.TimeoutException: st = "hang"
            except httpx.HTTPError as e: st = type(e).__name__
            if st == 429: kind = "full"
            with lock:
                statuses.setdefault(kind, {}).setdefault(str(st), 0)
                statuses[kind][str(st)] += 1
                busy[0] -= 1
    def sample(t0, **kw):
        samples.append(dict(t=time.monotonic() - t0, rss_mb=rss_mb(proc.pid), **gauges(base), **kw))
    def rest(t0):
        "The clients pause; once every request has ended, the server's idle RSS (it trims its heap when idle)."
        with lock: pause.set()
        while busy[0]: time.sleep(0.2)
        time.sleep(4)
        sample(t0, idle=True)
        pause.clear()
    try:
        one_request(base, "Warm up.", 16, knobs)
        t0 = time.monotonic()
        sample(t0)
        ts = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
        for t in ts: t.start()
        end = t0 + 60 * a.soak                          # rests: after a warm-up minute, at a third and two thirds
        rests = sorted({min(60, 20 * a.soak)} | {60 * a.soak * k / 3 for k in (1, 2)})
        rests = [t0 + x for x in rests]
        while time.monotonic() < end:
            time.sleep(2)
            sample(t0)
            if rests and time.monotonic() >= rests[0]:
                rests.pop(0)
                rest(t0)
        stop.set()
        for t in ts: t.join(600)
        hung_clients = sum(t.is_alive() for t in ts)
        t_stop = time.monotonic() - t0
        for k in range(15):                                         # idle again: rows and queue drain
            time.sleep(2)
            sample(t0, idle=k == 14)
        healthy = httpx.get(base + "/health", timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(60)
    bad = {k: {s: n for s, n in v.items() if not (s.isdigit() and int(s) in EXPECTED[k])} for k, v in statuses.items()}
    return dict(minutes=a.soak, clients=clients, statuses=statuses, unexpected={k: v for k, v in bad.items() if v},
                hung_clients=hung_clients, stopped_at=t_stop, samples=samples, healthy_after=healthy,
                requests=sum(sum(v.values()) for v in statuses.values()))


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
    p.add_argument("--out", default=None, help="results JSON (default benchmarks/server_bench.json, or "
                   "benchmarks/server_soak.json with --soak)")
    p.add_argument("--soak", type=float, default=None, metavar="MINUTES",
                   help="soak test for MINUTES instead of the benchmark (the last --clients value clients)")
    a, model_flags = p.parse_known_args(argv)                   # the rest goes to the server (--tiny, --backend ...)
    model_flags = model_flags or ["--tiny", "--full_s3gen", "--backend", "cpu"]
    knobs = dict(temperature=a.temperature, position_temperature=0.0)
    a.out = a.out or str(ROOT / "benchmarks" / ("server_soak.json" if a.soak else "server_bench.json"))
    log = open(Path(a.out).with_suffix(".log"), "w") if Path(a.out).parent.is_dir() else subprocess.DEVNULL
    from chatterbox_flash.tools.bench import machine
    h = machine()
    print(f"{h['cpu']} | {h['flags']} | {h['threads']} threads | torch {h['torch']} | auto dtype {h['auto_dtype']}",
          flush=True)
    if a.soak:
        r = dict(machine=h, model_flags=model_flags, max_speech_tokens=a.max_speech_tokens,
                 **soak(a, model_flags, knobs, log))
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(json.dumps(r, indent=1))
        rss = [x["rss_mb"] for x in r["samples"]]
        idle = [f"{x['rss_mb']:.0f} MB at {x['t']:.0f} s" for x in r["samples"] if x.get("idle")]
        print(f"soak: {r['requests']} requests in {a.soak} min, {r['clients']} clients; statuses {r['statuses']}; "
              f"unexpected {r['unexpected']}; hung clients {r['hung_clients']}; RSS start {rss[0]:.0f} MB, "
              f"peak {max(rss):.0f} MB, end {rss[-1]:.0f} MB; idle {', '.join(idle)}; live rows at the end "
              f"{r['samples'][-1].get('live_rows')}; healthy after: {r['healthy_after']}; wrote {a.out}")
        return 0 if not r["unexpected"] and not r["hung_clients"] and r["healthy_after"] else 1
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
