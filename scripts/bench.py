#!/usr/bin/env python
"""Benchmark our block-diffusion decoder against chatterbox-tts's autoregressive T3.inference on the same weights,
in one run (see nbs/28_benchmarks.ipynb for what the numbers mean and the plots).

    python scripts/bench.py --tiny --speech_tokens 48                                   # smoke run
    python scripts/bench.py --report --full --speech_tokens 100                         # the CPU report (all dtypes)
    python scripts/bench.py --full --speech_tokens 200 --batch_sizes 1 8 --backends cpu mlx --dtype float32
    python scripts/bench.py --full --device cuda --dtype bfloat16 --backends gpu flashinfer
"""
import sys
from chatterbox_flash.tools.bench_speech import main

if __name__ == "__main__":
    sys.exit(main())
