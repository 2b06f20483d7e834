"""The CPU fast paths that only some CPUs have. Each test runs where its kernels exist and reports itself skipped, with
the reason, elsewhere (e.g. under ONEDNN_MAX_CPU_ISA=AVX2, where oneDNN cannot pack bfloat16 weights)."""
import pytest, torch
import torch.nn.functional as F
from chatterbox_flash.runtime.cpu import this_cpu
from chatterbox_flash.engines.torch import PackedLinear, mkldnn_bf16_ok, prepare_for_cpu

needs_packing = pytest.mark.skipif(not mkldnn_bf16_ok(), reason=f"oneDNN cannot pack bfloat16 weights here "
                                   f"(oneDNN {this_cpu().onednn}: packing needs AVX-512 or avx_ne_convert)")

@needs_packing
def test_packed_linear_is_the_same_linear():
    torch.manual_seed(0)
    lin = torch.nn.Linear(64, 96).bfloat16()
    x = torch.randn(3, 5, 64, dtype=torch.bfloat16)
    p = PackedLinear(lin)
    assert p(x).shape == (3, 5, 96)
    torch.testing.assert_close(p(x).float(), lin(x).float(), atol=0.05, rtol=0.05)           # bfloat16 rounding
    torch.testing.assert_close(p(x, post='swish').float(), F.silu(lin(x)).float(), atol=0.05, rtol=0.05)

@needs_packing
def test_packed_decode_agrees_with_plain(tiny_ckpt):
    "A bfloat16 model is not bit-exact across kernels; a deterministic decode agrees at nearly every position."
    from chatterbox_flash.decoding.model import load_t3
    from chatterbox_flash.checkpoints.tiny import random_voice
    t3b, t3p = load_t3(tiny_ckpt, dtype=torch.bfloat16), load_t3(tiny_ckpt, dtype=torch.bfloat16)
    assert prepare_for_cpu(t3p) == 'packed'
    assert sum(isinstance(m, PackedLinear) for m in t3p.modules()) == 2 * 7 + 1     # 7 per layer + the speech head
    assert prepare_for_cpu(t3p) == 'packed'                                          # once only
    cond, text = random_voice(0, 12)
    kw = dict(t3_cond=cond, text_tokens=text, total_speech_len=48, temperature=0, position_temperature=0)
    a, b = t3b.generate(**kw), t3p.generate(**kw)
    assert (a == b).float().mean().item() >= 0.9
