"""stagewise GPU runner: runs one stage (PROBE, SFT, RL, EVAL, BRIDGE,
CRITIQUE) of one run and reports to the API.

See ../PROTOCOL.md for the contract with the API and ../README.md for the layout.
"""
import os as _os

# OpenBLAS must be told before torch loads it: its own threads fight torch's intra-op threads over
# the same cores and halve the speed (measured: 2 cores, 1 OpenBLAS thread + 2 torch threads wins).
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# On a shared CPU, OpenMP threads that spin-wait for a busy sibling core were 5x slower than one
# thread (measured with the machine's load at ~8); passive waiting keeps 2 threads ahead.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
