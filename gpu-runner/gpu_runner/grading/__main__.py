"""`python3 -m gpu_runner.grading FILE [--out FILE]` (see cli.py)."""
import sys

from .cli import main

sys.exit(main())
