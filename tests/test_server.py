"""The speech server end to end: real uvicorn processes on 127.0.0.1 with the tiny checkpoint (fp32, CPU), called with
the official `openai` SDK and plain httpx. Two servers start once for the module: `main` (continuous batching, up to
8 rows; its vocoder fails when a test asks) and `small` (one row, 48 waiting requests, an API key) for the queue,
thread and key checks."""
import asyncio, base64, io, json, os, re, socket, subprocess, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
import numpy as np, pytest, soundfile as sf
from conftest import ROOT, PY

httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")
pytestmark = pytest.mark.slow

DET = dict(temperature=0, position_temperature=0)
TEXTS = ["Hello there.", "The quick brown fox.", "Numbers like 42 are spoken.", "A fourth one.",
         "Streaming is fun.", "Batching never changes tokens.", "Seven.", "The eighth text is the longest of all."]

def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

# The `main` server's vocoder fails for real when asked: each request's vocoder raises on its k-th call, k read from
# the file given first on the command line when the request first reaches the vocoder (0: never).
FAULTY = """
import sys
from chatterbox_flash.serving.scheduler import Scheduler
from chatterbox_flash.tools.cli import main
control, real = sys.argv.pop(1), Scheduler._vocoder
def _vocoder(self, job, j, toks):
    if not hasattr(job, "fault_at"): job.fault_at, job.calls = int(open(control).read() or 0), 0
    v = real(self, job, j, toks)
    if not hasattr(v, "real_step"):
        v.real_step = v.hift_step
        def hift_step(*a, **kw):
            job.calls += 1
            if job.calls == job.fault_at: raise RuntimeError("injected vocoder fault")
            return v.real_step(*a, **kw)
        v.hift_step = hift_step
    return v
Scheduler._vocoder = _vocoder
sys.exit(main())
"""

class Server:
    "A `chatterbox-flash serve` process; `url`, `log` (its stderr so far), `stop()`; `fault(k)` with `faulty=True`."
    def __init__(self, tmp, *flags, faulty=False):
        self.port, self.url = _port(), None
        self.errf = open(tmp / f"server_{self.port}.log", "w+")
        self.control, self.voices = tmp / f"fault_{self.port}.txt", tmp / f"voices_{self.port}"
        self.control.write_text("0")
        code = FAULTY if faulty else "import sys; from chatterbox_flash.tools.cli import main; sys.exit(main())"
        self.p = subprocess.Popen([PY, "-c", code, *([str(self.control)] if faulty else []), "serve", "--tiny",
                                   "--backend", "cpu", "--dtype", "float32", "--port", str(self.port), "--voices_dir",
                                   str(self.voices), "--no_watermark", *flags],
                                  stdout=self.errf, stderr=subprocess.STDOUT, cwd=ROOT,
                                  env=dict(os.environ, CHATTERBOX_FLASH_API_KEY=""))
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, timeout=600):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            assert self.p.poll() is None, self.log()
            try:
                if httpx.get(self.base + "/health", timeout=2).status_code == 200: return self
            except httpx.HTTPError: pass
            time.sleep(0.5)
        raise TimeoutError(self.log())

    def log(self) -> str:
        self.errf.flush()
        self.errf.seek(0)
        return self.errf.read()

    def fault(self, k: int):
        "From the next request on, each request's vocoder raises on its `k`-th call (0: never)."
        self.control.write_text(str(k))

    def health(self) -> dict: return httpx.get(self.base + "/health", timeout=10).json()

    def metric(self, name: str) -> float:
        m = re.search(rf"^{re.escape(name)} (\S+)$", httpx.get(self.base + "/metrics", timeout=10).text, re.M)
        return float(m.group(1)) if m else 0.0

    def stop(self):
        self.p.terminate()
        try: self.p.wait(30)
        except subprocess.TimeoutExpired: self.p.kill()

@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("server")
    main = Server(tmp, "--max_batch", "8", "--max_queue", "16", "--max_speech_tokens", "400", "--max_input_chars",
                  "500", "--max_upload_bytes", "2000000", "--voice_cache", "1", "--max_voices", "2", faulty=True)
    small = Server(tmp, "--max_batch", "1", "--max_queue", "48", "--max_speech_tokens", "2000", "--api_key", "sekret")
    try:
        yield main.wait(), small.wait()
    finally:
        main.stop()
        small.stop()

@pytest.fixture(scope="module")
def server(servers): return servers[0]

def client(server, key="sk-none"):
    return openai.OpenAI(base_url=server.base + "/v1", api_key=key, max_retries=0, timeout=600)

def decode(data: bytes, fmt: str):
    from chatterbox_flash.serving.codecs import decode_audio
    return decode_audio(data, fmt)

def speak(server, text="Hello there.", **kw) -> httpx.Response:
    body = dict(model="chatterbox-flash", input=text, voice="default", max_speech_tokens=16, **DET) | kw
    return httpx.post(server.base + "/v1/audio/speech", json=body, timeout=600)


def test_formats(server):
    "Every response format, through the openai SDK, decodes with soundfile as 24 kHz audio."
    c = client(server)
    def one(fmt):
        return fmt, c.audio.speech.create(model="tts-1", voice="default", input="Hello there.", response_format=fmt,
                                          extra_body=dict(max_speech_tokens=16, **DET)).content
    with ThreadPoolExecutor(6) as ex: got = dict(ex.map(one, ["wav", "pcm", "flac", "mp3", "opus", "aac"]))
    for fmt, data in got.items():
        x, sr = decode(data, fmt)
        assert sr == 24000 and len(x) > 0.3 * 24000, (fmt, sr, len(x))
    n = len(decode(got["wav"], "wav")[0])                      # 960 samples per codec token (ids >= 6561 dropped)
    assert n == len(decode(got["pcm"], "pcm")[0]) and n % 960 == 0 and n <= 16 * 960


def test_streaming(server):
    """The audio arrives in several pieces, the first under half of it (no timing asserted); SSE yields OpenAI's delta
    events, then done."""
    c = client(server)
    t0, times, sizes = time.monotonic(), [], []
    with c.audio.speech.with_streaming_response.create(model="tts-1", voice="default", input="Streaming is fun.",
                                                       response_format="pcm",
                                                       extra_body=dict(max_speech_tokens=64, **DET)) as r:
        for b in r.iter_bytes():
            times.append(time.monotonic() - t0)
            sizes.append(len(b))
    assert sum(sizes) % 1920 == 0 and 0 < sum(sizes) <= 64 * 960 * 2
    assert len(times) >= 3 and sizes[0] < sum(sizes) / 2
    with httpx.stream("POST", server.base + "/v1/audio/speech", timeout=600,
                      json=dict(input="Hi there.", voice="default", stream_format="sse", response_format="pcm",
                                max_speech_tokens=32, return_tokens=True, **DET)) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[6:]) for line in r.iter_lines() if line.startswith("data: ")]
    assert [e["type"] for e in events[:-1]] == ["speech.audio.delta"] * (len(events) - 1) and len(events) >= 3
    done = events[-1]
    assert done["type"] == "speech.audio.done" and 0 < done["usage"]["output_tokens"] <= 32
    assert len(done["speech_tokens"][0]) == done["usage"]["output_tokens"]
    assert sum(len(base64.b64decode(e["audio"])) for e in events[:-1]) == done["usage"]["output_tokens"] * 1920


def test_voices(server, ref_voice):
    "Upload, list, speak with, delete a voice; non-audio and oversize uploads are refused."
    data = open(ref_voice, "rb").read()
    r = httpx.post(server.base + "/v1/voices", data={"name": "ref"}, files={"file": ("v.wav", data)}, timeout=600)
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    assert re.fullmatch(r"voice_[0-9a-f]{16}", vid)
    listed = httpx.get(server.base + "/v1/voices").json()["data"]
    assert {v["id"] for v in listed} >= {"default", vid}
    wav = client(server).audio.speech.create(model="tts-1", voice=vid, input="My own voice.",
                                             extra_body=dict(max_speech_tokens=16, **DET)).content
    assert decode(wav, "wav")[1] == 24000
    assert httpx.delete(server.base + f"/v1/voices/{vid}").json()["deleted"] is True
    assert vid not in {v["id"] for v in httpx.get(server.base + "/v1/voices").json()["data"]}
    assert speak(server, voice=vid).status_code == 404
    assert httpx.delete(server.base + f"/v1/voices/{vid}").status_code == 404
    bad = httpx.post(server.base + "/v1/voices", data={"name": "x"}, files={"file": ("v.wav", b"not audio" * 99)})
    assert bad.status_code == 400 and "not audio" in bad.json()["error"]["message"]
    big = httpx.post(server.base + "/v1/voices", data={"name": "x"}, files={"file": ("v.wav", b"\0" * 2_100_000)})
    assert big.status_code == 413 and "2000000 bytes" in big.json()["error"]["message"]


def test_concurrency_and_tokens(server):
    "8 concurrent requests succeed, /metrics shows batches of several rows, every request's tokens equal its solo run."
    before = server.metric('chatterbox_flash_batch_rows_bucket{le="1.0"}'), server.metric("chatterbox_flash_batch_rows_count")
    def one(t): return speak(server, t, stream=False, return_tokens=True)
    with ThreadPoolExecutor(8) as ex: rs = list(ex.map(one, TEXTS))
    assert [r.status_code for r in rs] == [200] * 8, [r.text for r in rs]
    ones = server.metric('chatterbox_flash_batch_rows_bucket{le="1.0"}') - before[0]
    total = server.metric("chatterbox_flash_batch_rows_count") - before[1]
    assert total > ones, (total, ones)                           # some forward ran more than one row
    for t, r in zip(TEXTS, rs):
        solo = one(t)                                            # alone on the server now
        assert json.loads(r.headers["x-speech-tokens"]) == json.loads(solo.headers["x-speech-tokens"]), t


def test_cancel(server):
    "Disconnecting mid-stream frees the row (live rows drop to 0, far fewer tokens than asked); the next one succeeds."
    t0 = server.metric("chatterbox_flash_speech_tokens_total")
    with httpx.stream("POST", server.base + "/v1/audio/speech", timeout=600,
                      json=dict(input="Cancel me soon.", voice="default", response_format="pcm",
                                max_speech_tokens=400, **DET)) as r:
        next(r.iter_bytes())                                     # the first audio, then hang up
    for _ in range(600):
        if server.health()["live_rows"] == 0: break
        time.sleep(0.1)
    assert server.health()["live_rows"] == 0
    assert server.metric("chatterbox_flash_speech_tokens_total") - t0 < 400
    assert speak(server).status_code == 200
    assert "status=cancelled" in server.log()


def test_bad_requests(servers):
    "Each bad request gets its status and message; the server stays healthy."
    server, small = servers
    url = server.base + "/v1/audio/speech"
    ok = dict(model="tts-1", input="Hi.", voice="default")
    cases = [(dict(json=ok | dict(voice="nobody")), 404, "Voice 'nobody' does not exist"),
             (dict(json=ok | dict(input="")), 400, "Text is empty"),
             (dict(json=ok | dict(input="word " * 200)), 413, "at most 500"),
             (dict(content=b'{"input": "Hi.",', headers={"content-type": "application/json"}), 400, "not valid JSON"),
             (dict(json=ok | dict(response_format="m4a")), 400, "response_format 'm4a' is not supported"),
             (dict(json=ok | dict(temperature=-1)), 400, "temperature=-1 is out of range"),
             (dict(json=ok | dict(cfg_scale=1e9)), 400, "cfg_scale=1000000000.0 is out of range"),
             (dict(json=ok | dict(num_steps="ten")), 400, "num_steps='ten' is out of range"),
             (dict(json=ok | dict(speed=2.0)), 400, "speed=2.0 is not supported"),
             (dict(json=dict(voice="default")), 422, "input"),
             (dict(json=ok | dict(input=["a"])), 422, "input")]
    for kw, status, msg in cases:
        r = httpx.post(url, timeout=60, **kw)
        assert r.status_code == status and msg in r.json()["error"]["message"], (kw, r.status_code, r.text)
    assert httpx.get(server.base + "/v1/nothing").status_code == 404
    # the key: missing, wrong, right
    surl = small.base + "/v1/audio/speech"
    for h in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.post(surl, json=ok, headers=h)
        assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
    with pytest.raises(openai.AuthenticationError): client(small, "wrong").models.list()
    assert [m.id for m in client(small, "sekret").models.list().data][0] == "chatterbox-flash"
    for s in servers:
        assert s.health()["status"] == "ok"
        assert s.p.poll() is None and "Traceback" not in s.log()
    assert speak(server).status_code == 200


def test_errors_after_the_first_byte(server):
    """A vocoder that fails on its k-th call: before the first byte, a JSON 500 (streamed or not, a streamed FLAC
    too); after it, SSE ends with an error event and a raw stream is cut (the client's read is incomplete, and the
    header said it would be). The server then serves normally."""
    body = dict(input="Streaming is fun.", voice="default", max_speech_tokens=64, **DET)
    url = server.base + "/v1/audio/speech"
    try:
        server.fault(1)                                          # the first call: nothing was sent yet
        for kw in (dict(response_format="pcm"), dict(stream=False), dict(stream_format="sse")):
            r = httpx.post(url, json=body | kw, timeout=600)
            assert r.status_code == 500 and "injected vocoder fault" in r.json()["error"]["message"], (kw, r.text)
        server.fault(2)                                          # the second call: the first audio is out
        two = dict(input="word " * 90, stream=False, max_speech_tokens=16)                    # two pieces
        r = httpx.post(url, json=body | two, timeout=600)
        assert r.status_code == 500 and r.json()["error"]["code"] == "speech_failed"     # a whole file: never cut
        r = httpx.post(url, json=body | dict(response_format="flac"), timeout=600)     # bytes only at the end
        assert r.status_code == 500 and "injected vocoder fault" in r.json()["error"]["message"]
        got = bytearray()
        with httpx.stream("POST", url, json=body | dict(response_format="wav"), timeout=600) as r:
            assert r.status_code == 200 and r.headers["x-stream-errors"] == "abort"
            with pytest.raises(httpx.RemoteProtocolError, match="incomplete chunked read"):
                for b in r.iter_raw(): got += b
        assert got[:4] == b"RIFF" and len(got) > 44              # audio came, then the cut
        with httpx.stream("POST", url, json=body | dict(stream_format="sse", response_format="pcm"), timeout=600) as r:
            lines = list(r.iter_lines())
        events = [json.loads(l[6:]) for l in lines if l.startswith("data: ")]
        assert events[0]["type"] == "speech.audio.delta" and events[-1]["type"] == "error"
        assert "event: error" in lines and "injected vocoder fault" in events[-1]["error"]["message"]
    finally: server.fault(0)
    assert speak(server, stream=False).status_code == 200 and server.health()["status"] == "ok"
    assert "Traceback" not in server.log() and "the stream is cut" in server.log()


def test_many_waiting_streams(servers, ref_voice):
    """More streams wait for audio than the web server has worker threads (47; anyio's pool has 40): an upload, which
    needs a worker thread, and /health answer while they all still wait; the queue is full (47 and the long request,
    whose other pieces wait for the one row), so one more request is refused with 429 and Retry-After; when they hang
    up they leave the queue at once, though the row is still busy; then a whole file is served."""
    _, small = servers
    url, key = small.base + "/v1/audio/speech", {"Authorization": "Bearer sekret"}
    long = dict(input="word " * 300, voice="default", response_format="pcm", max_speech_tokens=2000, **DET)
    short = dict(input="Hi.", voice="default", response_format="pcm", max_speech_tokens=16, **DET)
    voice = open(ref_voice, "rb").read()
    async def run():
        async with httpx.AsyncClient(timeout=600, headers=key, limits=httpx.Limits(max_connections=100)) as c:
            async def listen(body):
                async with c.stream("POST", url, json=body) as r:
                    async for _ in r.aiter_raw(): pass
            async def until(cond):
                for _ in range(3000):
                    if cond(h := (await c.get(small.base + "/health")).json()): return h
                    await asyncio.sleep(0.1)
                raise TimeoutError(small.log())
            streams = [asyncio.create_task(listen(long))]               # holds the one row for minutes (4 pieces)
            await until(lambda h: h["live_rows"] == 1)
            streams += [asyncio.create_task(listen(short)) for _ in range(47)]
            await until(lambda h: h["queue_depth"] == 48)
            full = await c.post(url, json=short)
            assert full.status_code == 429 and full.headers["retry-after"] == "1", full.text
            up = await c.post(small.base + "/v1/voices", data={"name": "x"}, files={"file": ("v.wav", voice)},
                              timeout=120)
            assert up.status_code == 201, up.text
            h = await until(lambda h: True)
            assert (h["status"], h["live_rows"], h["queue_depth"]) == ("ok", 1, 48)     # all of them still wait
            for t in streams[1:]: t.cancel()                                # the waiting clients leave
            await asyncio.gather(*streams[1:], return_exceptions=True)
            await until(lambda h: h["queue_depth"] == 1)                     # the long one's pieces: still there
            assert (await until(lambda h: True))["live_rows"] == 1           # out of the queue, the batch still full
            streams[0].cancel()
            await asyncio.gather(streams[0], return_exceptions=True)
            await until(lambda h: h["live_rows"] == 0 and h["queue_depth"] == 0)
    asyncio.run(run())
    r = httpx.post(url, json=short | dict(stream=False), headers=key, timeout=600)
    assert r.status_code == 200 and decode(r.content, "pcm")[0].size > 0
    assert "Traceback" not in small.log()


def test_chunked_upload(server):
    """A voice upload sent chunked (no Content-Length) past --max_upload_bytes is refused with 413 while it streams
    in: the server stops reading at the limit (the client could send 64 MB; far fewer were taken)."""
    sent = [0]
    def body():
        yield b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nbig\r\n--b\r\n'
        yield b'Content-Disposition: form-data; name="file"; filename="v.wav"\r\n\r\n'
        for _ in range(1024):
            sent[0] += 65536
            yield b"\0" * 65536
        yield b"\r\n--b--\r\n"
    r = httpx.post(server.base + "/v1/voices", content=body(), timeout=120,
                   headers={"content-type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and "2000000 bytes" in r.json()["error"]["message"], r.text
    assert sent[0] < 32 * 2**20, sent[0]
    assert server.health()["status"] == "ok"


def test_voice_library(server, ref_voice):
    """The voices folder is the source of truth: one voice in memory (--voice_cache 1) while two speak; a third upload
    is refused with 507 (--max_voices 2); a voice file deleted or corrupted on disk behind the server's back is a 404,
    or a 500 for that voice alone, while the others speak; the corrupt one can be deleted."""
    data, url = open(ref_voice, "rb").read(), server.base + "/v1/voices"
    up = lambda: httpx.post(url, data={"name": "v"}, files={"file": ("v.wav", data)}, timeout=600)
    a, b = up().json()["id"], up().json()["id"]
    full = up()
    assert full.status_code == 507 and "Delete a voice" in full.json()["error"]["message"], full.text
    for v in (a, b, a): assert speak(server, voice=v).status_code == 200
    assert server.metric("chatterbox_flash_voices_in_memory") == 1
    folder = server.voices
    (folder / f"{b}.safetensors").unlink()                            # as another server sharing the folder would
    assert speak(server, voice=b).status_code == 404
    (folder / f"{a}.safetensors").write_bytes(b"\0" * 64)            # corrupted on disk, though still in memory
    r = speak(server, voice=a)
    assert r.status_code == 500 and r.json()["error"]["code"] == "voice_unreadable", r.text
    assert f"DELETE /v1/voices/{a}" in r.json()["error"]["message"]
    assert speak(server).status_code == 200
    assert {v["id"] for v in httpx.get(url).json()["data"]} == {"default", a}
    assert httpx.delete(f"{url}/{a}").json()["deleted"] is True and speak(server, voice=a).status_code == 404
    assert server.health()["status"] == "ok"


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac"])
def test_streamed_codec(server, fmt):
    """mp3, opus and aac stream through PyAV: the server's own audio, encoded in the pieces it streams, decodes to the
    same samples as the whole file; and the server streams the format in several pieces, which decode to the request's
    length (plus the encoder's delay and padding for mp3 and aac)."""
    from chatterbox_flash.serving.codecs import StreamEncoder, encode_audio
    body = dict(input="Streaming is fun.", voice="default", max_speech_tokens=48, **DET)
    with httpx.stream("POST", server.base + "/v1/audio/speech", json=body | dict(response_format="pcm"),
                      timeout=600) as r:
        pieces = [decode(b, "pcm")[0] for b in r.iter_bytes() if b]
    enc, wav = StreamEncoder(fmt), np.concatenate(pieces)
    streamed = b"".join([enc.add(x) for x in pieces] + [enc.close()])
    assert len(pieces) > 1 and np.array_equal(decode(streamed, fmt)[0], decode(encode_audio(wav, fmt), fmt)[0])
    parts = []
    with httpx.stream("POST", server.base + "/v1/audio/speech", json=body | dict(response_format=fmt),
                      timeout=600) as r:
        assert r.headers["content-type"] == {"mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac"}[fmt]
        parts = [b for b in r.iter_bytes() if b]
    x, sr = decode(b"".join(parts), fmt)
    assert len(parts) > 1 and sr == 24000 and 0 <= len(x) - len(wav) <= 3000, (len(parts), sr, len(x), len(wav))


def ws_url(server) -> str: return server.base.replace("http://", "ws://") + "/v1/audio/speech/stream"

def session(server, deltas, end=True, headers=None, **knobs):
    "A WebSocket session (the `websockets` client): the session message, `deltas`, end; the audio and the messages."
    from websockets.sync.client import connect
    from websockets.exceptions import ConnectionClosedError
    audio, msgs = bytearray(), []
    with connect(ws_url(server), additional_headers=headers, open_timeout=60) as ws:
        ws.send(json.dumps(dict(type="session", voice="default", response_format="pcm") | knobs))
        for d in deltas: ws.send(json.dumps(dict(type="text", delta=d)))
        if end: ws.send(json.dumps(dict(type="end")))
        try:
            for m in ws:
                if isinstance(m, bytes): audio += m
                else: msgs.append(json.loads(m))
        except ConnectionClosedError as e: msgs.append(dict(closed=e.rcvd.code))    # after an error: 1008 or 1011
    return bytes(audio), msgs


def test_websocket(servers):
    """Text in 5 deltas, three sentences: their speech tokens in order are those of three plain requests, the audio is
    all of them, then `done`; the key guards the handshake; a bad session is an error message."""
    server, small = servers
    deltas = ["Hello th", "ere. How a", "re you", " today? I am", " fine"]
    audio, msgs = session(server, deltas, max_speech_tokens=16, return_tokens=True, **DET)
    assert [m["type"] for m in msgs] == ["session.created", "done"] and msgs[1]["usage"]["sentences"] == 3, msgs
    plain = [json.loads(speak(server, t, stream=False, return_tokens=True).headers["x-speech-tokens"])
             for t in ("Hello there.", "How are you today?", "I am fine")]
    assert msgs[1]["speech_tokens"] == plain
    assert len(audio) == 2 * 960 * msgs[1]["usage"]["output_tokens"]
    _, msgs = session(server, [], voice="nobody")
    assert msgs[-2]["type"] == "error" and msgs[-2]["status"] == 404 and "nobody" in msgs[-2]["message"]
    assert msgs[-1] == dict(closed=1008)
    from websockets.exceptions import InvalidStatus
    with pytest.raises(InvalidStatus, match="403"): session(small, ["Hi."])
    audio, msgs = session(small, ["Hi."], headers={"Authorization": "Bearer sekret"}, max_speech_tokens=16, **DET)
    assert msgs[-1]["type"] == "done" and len(audio) > 0


def test_websocket_client_leaves(server):
    "A client that hangs up mid-way frees its rows: live rows drop to 0 long before the sentences' budget is spent."
    from websockets.sync.client import connect
    t0 = server.metric("chatterbox_flash_speech_tokens_total")
    with connect(ws_url(server), open_timeout=60) as ws:
        ws.send(json.dumps(dict(type="session", voice="default", response_format="pcm", max_speech_tokens=400, **DET)))
        for d in ["A first long sentence. ", "And a second one. ", "And a third"]:
            ws.send(json.dumps(dict(type="text", delta=d)))
        while not isinstance(ws.recv(), bytes): pass                     # the first audio, then hang up
        assert server.health()["live_rows"] >= 1
    for _ in range(600):
        if server.health()["live_rows"] == 0: break
        time.sleep(0.1)
    assert server.health()["live_rows"] == 0
    assert server.metric("chatterbox_flash_speech_tokens_total") - t0 < 800
    assert speak(server).status_code == 200
    assert "status=cancelled" in server.log() and "Traceback" not in server.log()
