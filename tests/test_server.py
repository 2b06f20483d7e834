"""The speech server end to end: real uvicorn processes on 127.0.0.1 with the tiny checkpoint (fp32, CPU), called with
the official `openai` SDK and plain httpx. Two servers start once for the module: `main` (continuous batching, up to
8 rows) and `small` (one row, one waiting request, an API key) for the queue and key checks."""
import base64, io, json, os, re, socket, subprocess, sys, threading, time
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

class Server:
    "A `chatterbox-flash serve` process; `url`, `log` (its stderr so far), `stop()`."
    def __init__(self, tmp, *flags):
        self.port, self.url = _port(), None
        self.errf = open(tmp / f"server_{self.port}.log", "w+")
        code = "import sys; from chatterbox_flash.tools.cli import main; sys.exit(main())"
        self.p = subprocess.Popen([PY, "-c", code, "serve", "--tiny", "--backend", "cpu", "--dtype", "float32",
                                   "--port", str(self.port), "--voices_dir", str(tmp / f"voices_{self.port}"),
                                   "--no_watermark", *flags], stdout=self.errf, stderr=subprocess.STDOUT, cwd=ROOT,
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
                  "500", "--max_upload_bytes", "2000000")
    small = Server(tmp, "--max_batch", "1", "--max_queue", "1", "--max_speech_tokens", "400", "--api_key", "sekret")
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
    if fmt == "pcm": return sf.read(io.BytesIO(data), samplerate=24000, channels=1, format="RAW", subtype="PCM_16",
                                    endian="LITTLE")
    return sf.read(io.BytesIO(data))

def speak(server, text="Hello there.", **kw) -> httpx.Response:
    body = dict(model="chatterbox-flash", input=text, voice="default", max_speech_tokens=16, **DET) | kw
    return httpx.post(server.base + "/v1/audio/speech", json=body, timeout=600)


def test_formats(server):
    "Every response format, through the openai SDK, decodes with soundfile as 24 kHz audio."
    c = client(server)
    def one(fmt):
        return fmt, c.audio.speech.create(model="tts-1", voice="default", input="Hello there.", response_format=fmt,
                                          extra_body=dict(max_speech_tokens=16, **DET)).content
    with ThreadPoolExecutor(5) as ex: got = dict(ex.map(one, ["wav", "pcm", "flac", "mp3", "opus"]))
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
             (dict(json=ok | dict(response_format="aac")), 400, "response_format 'aac' is not supported"),
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
    surl, key = small.base + "/v1/audio/speech", {"Authorization": "Bearer sekret"}
    for h in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.post(surl, json=ok, headers=h)
        assert r.status_code == 401 and "API key" in r.json()["error"]["message"]
    with pytest.raises(openai.AuthenticationError): client(small, "wrong").models.list()
    assert [m.id for m in client(small, "sekret").models.list().data][0] == "chatterbox-flash"
    # a full queue: one row runs, one request waits, the next is refused with Retry-After
    long = ok | dict(input="A long one.", max_speech_tokens=400, response_format="pcm", **DET)
    with httpx.stream("POST", surl, json=long, headers=key, timeout=600) as running:
        for _ in range(600):
            if small.health()["live_rows"] == 1: break
            time.sleep(0.05)
        waiting = ThreadPoolExecutor(1).submit(httpx.post, surl, json=ok | dict(max_speech_tokens=16, stream=False),
                                               headers=key, timeout=600)
        for _ in range(600):
            if small.health()["queue_depth"] == 1: break
            time.sleep(0.05)
        r = httpx.post(surl, json=ok, headers=key)
        assert r.status_code == 429 and r.headers["retry-after"] == "1" and "busy" in r.json()["error"]["message"]
    assert waiting.result().status_code == 200                  # the running one hung up: the waiting one ran
    for s in servers:
        assert s.health()["status"] == "ok"
        assert s.p.poll() is None and "Traceback" not in s.log()
    assert speak(server).status_code == 200
