"""The released decoder's own tokens (tests/data/released_decoder_tokens.json) on the sharpened tiny weights, which the
package rebuilds bit for bit: `generate` must return them exactly, on every engine. The CPU engines are checked where
they are developed (the decoding notebook: torch; the MLX notebook: MLX); this file checks the GPU engines, where a GPU
is visible, in float32 (the GPU's own dtypes are checked against float32 in test_gpu.py)."""
import json
from pathlib import Path
import pytest, torch
from chatterbox.models.t3.modules.cond_enc import T3Cond

GOLDEN = json.loads((Path(__file__).parent / "data" / "released_decoder_tokens.json").read_text())

@pytest.fixture(scope="module")
def sharp():
    from chatterbox_flash.checkpoints.tiny import sharp_t3_state_dict, state_dict_sha256, tiny_t3_hp
    from chatterbox_flash.decoding.model import ChatterboxFlashT3, load_t3_state_dict
    out = {}
    for v in ("plain", "eos"):
        sd = sharp_t3_state_dict(eos=v == "eos")
        assert state_dict_sha256(sd) == GOLDEN[f"{v}_weights_sha256"], "the rebuilt weights differ from the recorded ones"
        m = ChatterboxFlashT3(tiny_t3_hp()); load_t3_state_dict(m, sd)
        out[v] = m.eval()
    return out

def inputs():
    i = GOLDEN["inputs"]
    cond = T3Cond(speaker_emb=torch.tensor(i["speaker_emb"]), cond_prompt_speech_tokens=torch.tensor(i["prompt"]),
                  emotion_adv=0.5 * torch.ones(1, 1, 1))
    return cond, torch.tensor(i["text"])[0]

@pytest.mark.parametrize("backend", ["gpu", "flashinfer"])
@pytest.mark.parametrize("variant,cfg", [("plain", 0), ("plain", 1), ("eos", 0), ("eos", 1)])
def test_released_decoder_tokens(sharp, backend, variant, cfg):
    from chatterbox_flash.decoding.decode import trim
    from chatterbox_flash.engines.base import FLASHINFER_AVAILABLE
    if not torch.cuda.is_available(): pytest.skip("no CUDA GPU visible (the GPU engines run on a lent GPU)")
    if backend == "flashinfer" and not FLASHINFER_AVAILABLE: pytest.skip("flashinfer is not installed")
    cond, text = inputs()
    m = sharp[variant].to("cuda")
    cond, text = cond.to(device="cuda"), text.to("cuda")
    from chatterbox_flash.engines.base import build_engine, resolve_backend
    eng = build_engine(m, resolve_backend(backend, torch.float32))
    out = m.generate(t3_cond=cond, text_tokens=text, total_speech_len=120, num_steps=10, temperature=0,
                     time_shift_tau=0.1, omnivoice_schedule_t_shift=0.5, cfg_scale=cfg, position_temperature=0,
                     engine=eng)
    assert trim(out[0], n_codec=8194).tolist() == GOLDEN[f"{variant}_cfg{cfg}"]
