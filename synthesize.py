#!/usr/bin/env python
"""Chatterbox-Flash command line (same as the `chatterbox-flash` console script).

    python synthesize.py --tiny --audio_prompt chatterbox_flash/assets/ref_voice.wav --text "Hello there." --out_dir out
"""
import sys
from chatterbox_flash.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
