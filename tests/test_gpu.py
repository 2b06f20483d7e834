"""GPU checks: run only where CUDA is visible (a lent GPU machine: scripts/gpu_check.sh).
Deterministic settings on the tiny checkpoint; references are the fp32 torch SDPA engine."""
import pytest, torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible: GPU tests run on a lent "
                                "GPU machine via scripts/gpu_check.sh")

DET = dict(temperature=0.0, position_temperature=0.0, total_speech_len=96)

@pytest.fixture(scope="module")
def setup(tiny_ckpt):
    from chatterbox_flash.decoding.model import load_t3
    from chatterbox_flash.checkpoints.tiny import random_voice
    ref = load_t3(tiny_ckpt, device="cuda", dtype=torch.float32)
    conds, texts = zip(*[random_voice(seed, n) for seed, n in ((0, 9), (1, 20), (2, 33))])
    conds, texts = list(conds), list(texts)
    return ref, conds, texts

def _decode(model, engine, conds, texts, **kw):
    return model.generate(t3_cond=conds, text_tokens=texts, engine=engine, **DET, **kw)

def test_fp32_cuda_graph_matches_eager(setup):
    from chatterbox_flash.engines.torch import TorchEngine
    ref, conds, texts = setup
    for w in (0.0, 1.0):
        a = _decode(ref, TorchEngine(ref, cuda_graph=False), conds, texts, cfg_scale=w)
        b = _decode(ref, TorchEngine(ref, cuda_graph=True), conds, texts, cfg_scale=w)
        assert torch.equal(a, b)

@pytest.mark.parametrize("backend", ["gpu", "flashinfer"])
def test_bf16_agrees_with_fp32(setup, tiny_ckpt, backend):
    from chatterbox_flash.engines.base import build_engine, FLASHINFER_AVAILABLE
    from chatterbox_flash.engines.torch import TorchEngine
    from chatterbox_flash.decoding.model import load_t3
    if backend == "flashinfer" and not FLASHINFER_AVAILABLE: pytest.skip("flashinfer not installed")
    ref, conds, texts = setup
    bf = load_t3(tiny_ckpt, device="cuda", dtype=torch.bfloat16)
    a = _decode(ref, TorchEngine(ref), conds, texts, cfg_scale=1.0)
    b = _decode(bf, build_engine(bf, backend), conds, texts, cfg_scale=1.0)
    agree = (a == b).float().mean().item()
    print(f"{backend} bf16 vs fp32 SDPA: {agree:.1%}")
    assert agree >= 0.97
