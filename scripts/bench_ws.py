#!/usr/bin/env python
"""Time to first audio of a sentence that arrives as text deltas over `WS /v1/audio/speech/stream`, from the moment
its end arrives, against a plain streamed `POST /v1/audio/speech` of the same sentence, from the moment it is sent.

One server is started; the two are timed in turns, `--repeats` times each, on an idle server, after one warm-up of
each. The WebSocket session is opened, and its first sentence written in five deltas, before the clock starts: the
clock starts when the delta that ends the sentence has been sent, and stops at the first audio bytes. Results go to
a JSON file (the WebSocket notebook shows it) and a table on stdout.

    python scripts/bench_ws.py --tiny --backend cpu --dtype float32               # offline (CPU, random weights)
    python scripts/bench_ws.py --checkpoint DIR --backend gpu
"""
import argparse, json, statistics, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_server import ROOT, start_server                                   # noqa: E402

SENTENCE = ["The quick", " brown fox", " jumps over", " the lazy", " dog. "]   # five deltas, the last ends it


def ws_first_audio(base: str, tokens: int) -> float:
    "Seconds from the delta that completes the first sentence to its first audio bytes."
    from websockets.sync.client import connect
    with connect(base.replace("http://", "ws://") + "/v1/audio/speech/stream", open_timeout=600) as ws:
        ws.send(json.dumps(dict(type="session", voice="default", response_format="pcm", max_speech_tokens=tokens)))
        assert json.loads(ws.recv())["type"] == "session.created"
        for d in SENTENCE[:-1]: ws.send(json.dumps(dict(type="text", delta=d)))
        ws.send(json.dumps(dict(type="text", delta=SENTENCE[-1])))
        t0 = time.monotonic()
        while not isinstance(m := ws.recv(timeout=600), bytes): pass
        first = time.monotonic() - t0
        ws.send(json.dumps(dict(type="end")))
        for m in ws:
            if isinstance(m, str) and json.loads(m)["type"] == "done": break
    return first


def post_first_audio(base: str, tokens: int) -> float:
    "Seconds from sending a plain streamed request for the same sentence to its first audio bytes."
    import httpx
    body = dict(input="".join(SENTENCE).strip(), voice="default", response_format="pcm", max_speech_tokens=tokens)
    t0, first = time.monotonic(), None
    with httpx.stream("POST", base + "/v1/audio/speech", json=body, timeout=600) as r:
        r.raise_for_status()
        for b in r.iter_bytes():
            if b and first is None: first = time.monotonic() - t0
    return first


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--max_speech_tokens", type=int, default=64, help="speech tokens of the sentence (default 64)")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "ws_latency.json"))
    a, model_flags = p.parse_known_args(argv)
    log = open(Path(a.out).with_suffix(".log"), "w")
    proc, base = start_server(model_flags + ["--max_speech_tokens", str(a.max_speech_tokens)], 16, 16, 64, log)
    try:
        ws_first_audio(base, a.max_speech_tokens), post_first_audio(base, a.max_speech_tokens)     # warm-up
        ws, post = [], []
        for _ in range(a.repeats):
            ws.append(ws_first_audio(base, a.max_speech_tokens))
            post.append(post_first_audio(base, a.max_speech_tokens))
    finally:
        proc.terminate()
        proc.wait(30)
    res = dict(model_flags=model_flags, max_speech_tokens=a.max_speech_tokens, repeats=a.repeats,
               sentence="".join(SENTENCE).strip(), ws=ws, post=post,
               ws_median=statistics.median(ws), post_median=statistics.median(post))
    Path(a.out).write_text(json.dumps(res, indent=1))
    print(f"{'':28s} {'median':>8s} {'min':>8s} {'max':>8s}")
    for name, xs in (("WS, from the sentence's end", ws), ("POST, from the request", post)):
        print(f"{name:28s} {statistics.median(xs):8.3f} {min(xs):8.3f} {max(xs):8.3f}")
    print(f"wrote {a.out}")


if __name__ == "__main__": main()
