#!/usr/bin/env python
"""Benchmark: our block-diffusion decoder vs chatterbox-tts's autoregressive `T3.inference`, on the same weights,
same prompt and same number of speech tokens, in one run. Prints a table of ratios and writes JSON.

    python scripts/bench.py --tiny --speech_tokens 48                 # smoke run on the tiny checkpoint
    python scripts/bench.py --full --speech_tokens 200 --batch_sizes 1 8 --backends cpu --dtype float32

`--full` builds the real `Llama_520M` architecture with random weights (nothing to download). Timings on shared CPUs
are noisy: read the ratios, and rerun."""
import argparse, json, math, time, sys, resource
from pathlib import Path
import torch

def build(a):
    from chatterbox.models.t3.modules.t3_config import T3Config
    from chatterbox_flash.model import ChatterboxFlashT3, load_t3
    from chatterbox_flash.tiny import tiny_checkpoint
    if a.tiny: return load_t3(tiny_checkpoint(), device=a.device, dtype=a.torch_dtype)
    torch.manual_seed(0)
    m = ChatterboxFlashT3(T3Config.english_only()).to(device=a.device, dtype=a.torch_dtype).eval()
    m.block_prior()
    return m

def voice(m, seed=0, n_text=40):
    from chatterbox.models.t3.modules.cond_enc import T3Cond
    g = torch.Generator().manual_seed(seed)
    cond = T3Cond(speaker_emb=torch.randn(1, 256, generator=g), emotion_adv=0.5 * torch.ones(1, 1, 1),
                  cond_prompt_speech_tokens=torch.randint(0, 6561, (1, 150), generator=g))
    return cond, m.add_text_markers(torch.randint(1, 200, (n_text,), generator=g))

def timed(f):
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    sync(); t = time.perf_counter(); r = f(); sync(); return r, time.perf_counter() - t

def bench_ar(m, cond, text, n):
    "chatterbox's own autoregressive T3.inference (CFG 0.5, its defaults) on the same weights, n new tokens."
    from chatterbox.models.t3 import T3
    ar = T3(m.hp).to(m.dtype).eval()
    sd = {k: (v[:-1] if k == 'speech_emb.weight' else v) for k, v in m.state_dict().items()}
    ar.load_state_dict(sd)
    c = type(cond)(**{k: v for k, v in cond.__dict__.items()})
    tt = torch.stack([text, text])
    _, dt = timed(lambda: ar.inference(t3_cond=c.to(device=m.device), text_tokens=tt, max_new_tokens=n, cfg_weight=0.5,
                                       stop_on_eos=False))
    return dict(engine='chatterbox T3.inference (AR)', batch=1, seconds=dt, tokens=n, forwards=n + 1)

def bench_ours(m, cond, text, n, B, backend, quantize_bits=None):
    from chatterbox_flash.decode import DecodeStats
    from chatterbox_flash.engine import build_engine
    eng = build_engine(m, backend, **({'quantize_bits': quantize_bits} if quantize_bits else {}))
    st = DecodeStats()
    toks, dt = timed(lambda: m.generate(t3_cond=cond, text_tokens=text, total_speech_len=n, batch_size=B, engine=eng,
                                        stats=st, generator=torch.Generator().manual_seed(0)))
    return dict(engine=f'block diffusion [{backend}{"-q%d" % quantize_bits if quantize_bits else ""}]', batch=B,
                seconds=dt, tokens=n * B, forwards=st.forwards)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(); g.add_argument("--tiny", action="store_true"); g.add_argument("--full", action="store_true")
    p.add_argument("--speech_tokens", type=int, default=200)
    p.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 8])
    p.add_argument("--backends", nargs="+", default=["cpu"])
    p.add_argument("--dtype", default="float32")
    p.add_argument("--device", default="cpu")
    p.add_argument("--no_ar", action="store_true", help="skip the autoregressive baseline")
    p.add_argument("--json", default="bench.json")
    a = p.parse_args(argv)
    from chatterbox_flash.engine import parse_dtype
    a.torch_dtype = parse_dtype(a.dtype)
    m = build(a); cond, text = voice(m)
    n = a.speech_tokens
    rows = []
    if not a.no_ar: rows.append(bench_ar(m, cond, text, n)); print(rows[-1], flush=True)
    from chatterbox_flash.errors import ChatterboxFlashError
    for be in a.backends:
        for B in a.batch_sizes:
            try: rows.append(bench_ours(m, cond, text, n, B, be)); print(rows[-1], flush=True)
            except ChatterboxFlashError as e: print(f"skipping backend {be}: {e}"); break
    for r in rows:
        r['tokens_per_s'] = r['tokens'] / r['seconds']
        r['forwards_per_token'] = r['forwards'] / r['tokens']
        r['t3_rtf'] = r['seconds'] / (r['tokens'] / 25)                # 25 speech tokens per second of audio
    base = rows[0]['tokens_per_s'] if not a.no_ar else None
    print(f"\nT3 decode, {'tiny' if a.tiny else 'Llama_520M'} {a.dtype}, {n} speech tokens per row, "
          f"{torch.get_num_threads()} threads")
    print(f"{'engine':38s} {'B':>3s} {'s':>8s} {'tok/s':>8s} {'fwd/tok':>8s} {'T3 RTF':>7s} {'vs AR':>7s}")
    for r in rows:
        ratio = f"{r['tokens_per_s'] / base:6.2f}x" if base else '   -'
        print(f"{r['engine']:38s} {r['batch']:3d} {r['seconds']:8.2f} {r['tokens_per_s']:8.2f} "
              f"{r['forwards_per_token']:8.3f} {r['t3_rtf']:7.2f} {ratio:>7s}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")
    Path(a.json).write_text(json.dumps(dict(model='tiny' if a.tiny else 'Llama_520M', dtype=a.dtype, speech_tokens=n,
                                            rows=rows, peak_rss_mib=peak), indent=1))
    return 0

if __name__ == "__main__":
    sys.exit(main())
