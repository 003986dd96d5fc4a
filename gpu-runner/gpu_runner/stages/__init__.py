"""One file per stage, each read top to bottom: probe, sft, rl, eval, bridge, critique (shared helpers in
common; the teachers of bridge and critique in ..teachers)."""
