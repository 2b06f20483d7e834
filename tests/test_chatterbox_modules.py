"""chatterbox's own modules (S3Gen, the voice encoder, the tokenizer, T3) come from `videopython-chatterbox`, which
ships the same `chatterbox` import package as chatterbox-tts 0.1.7 without its torch 2.6 / gradio pins. This checks,
file by file, that the installed package is chatterbox-tts 0.1.7's, except for the two documented differences."""
import hashlib, json
from importlib import metadata
from pathlib import Path

DATA = json.loads((Path(__file__).parent / "data" / "chatterbox_modules.json").read_text())

def installed_hashes() -> dict:
    import importlib.util
    root = Path(importlib.util.find_spec("chatterbox").origin).parent
    return {f"chatterbox/{p.relative_to(root).as_posix()}": hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*.py")}

def test_installed_distribution_is_the_pinned_one():
    name, version = DATA["fork"].split("==")
    assert metadata.version(name) == version
    from chatterbox_flash.runtime.env import CHATTERBOX_DIST
    assert CHATTERBOX_DIST == DATA["fork"]

def test_chatterbox_modules_match_chatterbox_tts_0_1_7():
    want = dict(DATA["upstream_sha256"])
    for f, d in DATA["fork_differs"].items(): want[f] = d["sha256"]
    got = installed_hashes()
    assert sorted(got) == sorted(f for f in want if f.endswith(".py")), set(got) ^ set(want)
    differ = [f for f in got if got[f] != want[f]]
    assert differ == [], differ

def test_fork_differences_are_outside_what_we_run():
    """The two files that differ are the version lookup and the alignment check that chatterbox's autoregressive
    `T3.inference` builds only for multilingual models; our checkpoints are English."""
    import inspect, re
    from chatterbox.models.t3 import T3
    from chatterbox_flash.checkpoints.tiny import tiny_checkpoint
    from chatterbox_flash.decoding.model import load_t3
    assert set(DATA["fork_differs"]) == {"chatterbox/__init__.py",
                                         "chatterbox/models/t3/inference/alignment_stream_analyzer.py"}
    src = inspect.getsource(T3.inference)
    assert re.search(r"if self\.hp\.is_multilingual:\s+alignment_stream_analyzer = AlignmentStreamAnalyzer\(", src)
    assert src.count("AlignmentStreamAnalyzer(") == 1
    assert load_t3(tiny_checkpoint()).hp.is_multilingual is False
