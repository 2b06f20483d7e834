"""`chatterbox-flash serve --ray --replicas 2 --tiny` end to end: one real process that starts a local Ray cluster (two
CPUs, token authentication on) and two Ray Serve replicas of half a CPU each, called with the official `openai` SDK
and httpx: a wav and a stream, four concurrent requests that all succeed, both replicas serving, a voice uploaded to
one replica used by both, and a client disconnect that frees its row. Stopped with SIGTERM, it takes its cluster
down with it."""
import io, os, re, signal, socket, subprocess, time
from concurrent.futures import ThreadPoolExecutor
import pytest, soundfile as sf
from conftest import ROOT, PY

httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")
pytest.importorskip("ray")
pytestmark = pytest.mark.slow
DET = dict(temperature=0, position_temperature=0)

def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

class RayServer:
    "A `chatterbox-flash serve --ray` process and its log."
    def __init__(self, tmp, *flags):
        self.port, self.log_file = _port(), open(tmp / "serve_ray.log", "w+")
        code = "import sys; from chatterbox_flash.tools.cli import main; sys.exit(main())"
        env = {k: v for k, v in os.environ.items() if k not in ("RAY_AUTH_MODE", "RAY_ADDRESS")}
        self.p = subprocess.Popen([PY, "-c", code, "serve", "--ray", "--tiny", "--backend", "cpu", "--dtype", "float32",
                                   "--no_watermark", "--port", str(self.port), "--voices_dir", str(tmp / "voices"),
                                   *flags], stdout=self.log_file, stderr=subprocess.STDOUT, cwd=ROOT,
                                  env=dict(env, CHATTERBOX_FLASH_API_KEY=""), start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def wait(self, timeout=900):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            assert self.p.poll() is None, self.log()
            if "serving on http" in self.log():
                assert httpx.get(self.base + "/health", timeout=30).status_code == 200
                return self
            time.sleep(1)
        raise TimeoutError(self.log())

    def log(self) -> str:
        self.log_file.flush()
        self.log_file.seek(0)
        return self.log_file.read()

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = RayServer(tmp_path_factory.mktemp("ray_serve"), "--replicas", "2", "--cpus_per_replica", "0.5",
                  "--max_batch", "4", "--max_queue", "8", "--max_speech_tokens", "400")
    try: yield s.wait()
    finally:
        s.p.send_signal(signal.SIGTERM)
        try: code = s.p.wait(120)
        except subprocess.TimeoutExpired:
            os.killpg(s.p.pid, signal.SIGKILL)
            raise
        assert code == 0, s.log()[-3000:]

def client(server):
    return openai.OpenAI(base_url=server.base + "/v1", api_key="sk-none", max_retries=0, timeout=600)

def speech(server, **kw):
    "A short wav through the raw `openai` response: (status, replica, audio, sample rate)."
    r = client(server).audio.speech.with_raw_response.create(
        model="chatterbox-flash", voice=kw.pop("voice", "default"), input=kw.pop("input", "Hello there."),
        response_format="wav", extra_body=dict(max_speech_tokens=16, **DET, **kw))
    x, sr = sf.read(io.BytesIO(r.content))
    return r.status_code, r.headers["x-replica"], x, sr

def test_wav_and_stream(server):
    wav = client(server).audio.speech.create(model="chatterbox-flash", voice="default", input="Hello there.",
                                              response_format="wav", extra_body=dict(max_speech_tokens=16, **DET))
    x, sr = sf.read(io.BytesIO(wav.content))
    assert sr == 24000 and 0 < len(x) <= 16 * 960
    with client(server).audio.speech.with_streaming_response.create(
            model="chatterbox-flash", voice="default", input="Streaming through Ray.", response_format="pcm",
            extra_body=dict(max_speech_tokens=64, **DET)) as r:
        sizes = [len(b) for b in r.iter_bytes()]
    assert len(sizes) >= 2 and sum(sizes) % 1920 == 0 and 0 < sum(sizes) <= 64 * 1920

def test_concurrent_requests_on_both_replicas(server):
    "Four at once all succeed; both replicas answer (each response names its replica)."
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda i: speech(server, input=f"Concurrent request {i}."), range(4)))
    assert all(code == 200 and sr == 24000 and len(x) > 0 for code, _, x, sr in got)
    replicas = {rep for _, rep, _, _ in got}
    for _ in range(40):                                        # Serve picks replicas at random: a few more looks
        if len(replicas) == 2: break
        replicas.add(httpx.get(server.base + "/v1/models", timeout=30).headers["x-replica"])
    assert len(replicas) == 2, replicas

def test_voice_uploaded_once_is_everywhere(server, ref_voice):
    data = open(ref_voice, "rb").read()
    r = httpx.post(server.base + "/v1/voices", data={"name": "shared"}, files={"file": ("v.wav", data)}, timeout=600)
    assert r.status_code == 201, r.text
    vid, seen = r.json()["id"], set()
    for _ in range(40):
        code, rep, x, sr = speech(server, voice=vid, input="In the shared voice.")
        assert code == 200 and sr == 24000 and len(x) > 0
        seen.add(rep)
        if len(seen) == 2: break
    assert len(seen) == 2, seen
    assert vid in {v["id"] for v in httpx.get(server.base + "/v1/voices", timeout=30).json()["data"]}

def live_rows(server, replica: str) -> float | None:
    "That replica's live rows, when the /metrics request reaches it (else None)."
    r = httpx.get(server.base + "/metrics", timeout=30)
    if r.headers["x-replica"] != replica: return None
    return float(re.search(rf'^chatterbox_flash_live_rows{{replica="{replica}"}} (\S+)$', r.text, re.M).group(1))

def test_disconnect_frees_the_row(server):
    with httpx.stream("POST", server.base + "/v1/audio/speech", timeout=600,
                      json=dict(input="Cancel me soon.", voice="default", response_format="pcm",
                                max_speech_tokens=400, **DET)) as r:
        replica = r.headers["x-replica"]
        next(r.iter_bytes())                                   # the first audio, then hang up
    freed = False
    for _ in range(600):
        if freed := live_rows(server, replica) == 0: break
        time.sleep(0.1)
    assert freed
    for _ in range(100):
        if "status=cancelled" in server.log(): break
        time.sleep(0.2)
    assert "status=cancelled" in server.log(), server.log()[-3000:]
    assert speech(server)[0] == 200
