"""Stream Chatterbox-Flash speech to stdout as raw PCM (mono, 24 kHz, signed 16-bit little-endian) as it is generated.

Play it while it is being generated:

    python examples/stream_pcm.py --audio_prompt voice.wav --text "Hello there, this is streamed." \\
        | aplay -r 24000 -f S16_LE -c 1

or keep it (`> out.pcm`; `sox -t raw -r 24000 -e signed -b 16 -c 1 out.pcm out.wav` makes a wav of it). Offline demo on
the tiny random checkpoint (the audio is noise-like by design):

    python examples/stream_pcm.py --tiny --audio_prompt voice.wav --text "Hi." --max_speech_tokens 32 --backend cpu > x.pcm

Everything except audio goes to stderr: the time to first audio and, at the end, the number of samples written.
Streamed audio carries the Perth watermark, as generate() output does (--no_watermark to leave it out).
"""
import argparse, sys, time
import numpy as np


def to_pcm16(chunk: np.ndarray) -> bytes:
    "Float audio in [-1, 1] -> little-endian signed 16-bit bytes."
    return (np.clip(chunk, -1.0, 1.0) * 32767).round().astype("<i2").tobytes()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--audio_prompt", required=True, help="reference recording of the voice (3-10 s)")
    p.add_argument("--text", required=True)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--tiny", action="store_true", help="the tiny random checkpoint (offline demo)")
    g.add_argument("--checkpoint", help="a local checkpoint directory (default: the Hub)")
    p.add_argument("--backend", default=None, help="gpu, cpu, flashinfer, mlx (default: gpu if visible, else cpu)")
    p.add_argument("--dtype", default=None)
    p.add_argument("--max_speech_tokens", type=int, default=None)
    p.add_argument("--chunk_blocks", type=int, default=4,
                   help="blocks of 16 speech tokens per audio chunk after the first (which follows the first block)")
    p.add_argument("--no_watermark", action="store_true", help="leave out the Perth watermark")
    p.add_argument("--seed", type=int, default=None)
    from chatterbox_flash.decoding.config import add_decode_flags, config_from_args
    a = add_decode_flags(p).parse_args(argv)
    cfg = config_from_args(a)                                # decoding knobs, checked before anything loads
    pcm, sys.stdout = sys.stdout.buffer, sys.stderr          # stdout carries audio only: any print goes to stderr

    import torch
    from chatterbox_flash import ChatterboxFlashTTS
    backend = a.backend or ("gpu" if torch.cuda.is_available() else "cpu")
    wm = not a.no_watermark
    if a.tiny:
        from chatterbox_flash import tiny_checkpoint
        tts = ChatterboxFlashTTS.from_local(tiny_checkpoint(), backend=backend, dtype=a.dtype, watermark=wm)
    elif a.checkpoint: tts = ChatterboxFlashTTS.from_local(a.checkpoint, backend=backend, dtype=a.dtype, watermark=wm)
    else: tts = ChatterboxFlashTTS.from_pretrained(backend=backend, dtype=a.dtype, watermark=wm)
    tts.prepare_conditionals(a.audio_prompt)
    gen = torch.Generator(device=tts.t3.device).manual_seed(a.seed) if a.seed is not None else None

    n, t0, first = 0, time.perf_counter(), None
    for chunk in tts.generate_stream(a.text, chunk_blocks=a.chunk_blocks, max_speech_tokens=a.max_speech_tokens,
                                     cfg=cfg, generator=gen, vocoder_seed=a.seed):
        if first is None:
            first = time.perf_counter() - t0
            print(f"first audio after {first:.2f} s", file=sys.stderr)
        pcm.write(to_pcm16(chunk))
        pcm.flush()
        n += len(chunk)
    print(f"wrote {n} samples ({n / tts.sr:.2f} s at {tts.sr} Hz, s16le mono) in {time.perf_counter() - t0:.2f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
