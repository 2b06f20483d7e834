#!/usr/bin/env bash
# Run HERE (with network to PyPI): fetch the wheels the lent GPU machine lacks (Python 3.12, x86_64) into .whl/,
# which the device tool carries. The GPU image already has torch 2.11, transformers, safetensors, onnx, einops, scipy.
set -euo pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo /.whl/ >> .git/info/exclude
P="--no-deps --only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
   --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any -d .whl"
python3 -m pip download -q $P chatterbox-tts==0.1.7 s3tokenizer==0.3.0 resemble-perth==1.0.1 diffusers==0.42.1 \
  librosa==0.11.0 soundfile conformer==0.3.2 omegaconf antlr4-python3-runtime==4.9.3 pyloudnorm num2words docopt \
  fastcore==1.12.3 audioread soxr pooch msgpack decorator
[ -n "${WITH_FLASHINFER:-}" ] && python3 -m pip download -q $P flashinfer-python==0.7.2.post1 apache-tvm-ffi
du -sh .whl
