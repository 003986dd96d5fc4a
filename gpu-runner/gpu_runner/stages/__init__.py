"""One file per stage, each read top to bottom: probe, sft, rl, eval (shared helpers in common)."""
