"""SymPy evaluation for the grader (src/grading/SPEC.md §4), in a worker subprocess.

SymPy cannot be interrupted reliably: `sin(10^(10^10))` spends minutes in argument reduction,
partly inside C big-integer code that a signal handler only reaches afterwards, and only the
main thread may use signals at all. So the trees are evaluated in a child process (plain
`python3 -I` on this file, no torch, no package import: it imports only the standard library)
that is killed and restarted when a request outlives the caller's deadline; the caller never
waits past it. The child starts on the
first symbolic comparison (SymPy's import takes about a second; that time is not charged to the
deadline) and exits when its stdin closes.

Protocol, one JSON line each way: `{"exprs": [tree, ...], "points": [{"x": 0.3, ...}, ...]}` ->
`{"values": [[[re, im] | null, ...], ...]}` (null: undefined there) or `{"error": "..."}`.
The caller sends one tree per request and keeps the answers in a small LRU cache: RL grades many
rollouts against the same gold answer, and a tree that used up a whole time limit once is not
evaluated again.
"""
from __future__ import annotations

import atexit
import json
import math
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict

_STARTUP_TIMEOUT_S = 60.0
_MEMORY_LIMIT_BYTES = 2 << 30
_CACHE_SIZE = 4096
# A tree that times out with at least this long to run is remembered as timing out; one cut short
# by an earlier comparison's use of the same deadline is tried again next time.
_CACHE_TIMEOUTS_FROM_S = 1.0
_TIMED_OUT = "timed out"


class _Worker:
    def __init__(self):
        self._proc = None
        self._buf = b""
        self._lock = threading.Lock()
        self._warned = False
        self._cache = OrderedDict()  # json [tree, points] -> values, or _TIMED_OUT

    def evaluate(self, exprs, points, budget):
        """Each tree's [re, im] (or None) per point, or None (deadline passed, worker failed)."""
        out = []
        with self._lock:
            for tree in exprs:
                key = json.dumps([tree, points], separators=(",", ":"))
                values = self._cache.get(key)
                if values is None:
                    values = self._evaluate_one(tree, points, budget)
                    if values is None:
                        return None
                    self._cache[key] = values
                    if len(self._cache) > _CACHE_SIZE:
                        self._cache.popitem(last=False)
                else:
                    self._cache.move_to_end(key)
                if values == _TIMED_OUT:
                    return None
                out.append(values)
        return out

    def _evaluate_one(self, tree, points, budget):
        """The tree's values, _TIMED_OUT, or None (not worth remembering: cut short, no worker)."""
        for _attempt in range(2):  # a worker that died since the last call is restarted once
            if self._proc is None and not self._start(budget):
                return None
            allowed = budget.deadline - time.monotonic()
            reply = self._request({"exprs": [tree], "points": points}, budget.deadline)
            if reply is not None:
                return (reply.get("values") or [None])[0]
            if time.monotonic() >= budget.deadline:
                return _TIMED_OUT if allowed >= _CACHE_TIMEOUTS_FROM_S else None
        return None

    def _start(self, budget) -> bool:
        began = time.monotonic()
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-I", os.path.abspath(__file__)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        except OSError as err:
            self._warn(f"cannot start the SymPy worker: {err}")
            self._proc = None
            return False
        self._buf = b""
        line = self._read_line(began + _STARTUP_TIMEOUT_S)
        hello = _loads(line)
        if not hello or "ready" not in hello:
            self._warn((hello or {}).get("error") or "the SymPy worker did not start")
            self._stop()
            return False
        budget.deadline += time.monotonic() - began  # starting is not the comparison's time
        return True

    def _request(self, req, deadline):
        try:
            self._proc.stdin.write(json.dumps(req).encode() + b"\n")
        except OSError:
            self._stop()
            return None
        reply = _loads(self._read_line(deadline))
        if reply is None:  # timed out or died: kill it, the next call starts a fresh one
            self._stop()
        return reply

    def _read_line(self, deadline):
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return None
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line

    def _stop(self):
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait()
            for f in (self._proc.stdin, self._proc.stdout):
                f.close()
        self._proc = None

    def _warn(self, message):
        if not self._warned:
            self._warned = True
            print(f"grading: symbolic equivalence unavailable ({message}); install python3-sympy",
                  file=sys.stderr)

    def close(self):
        with self._lock:
            self._stop()


def _loads(line):
    try:
        return json.loads(line) if line is not None else None
    except ValueError:
        return None


_worker = _Worker()
atexit.register(_worker.close)


def evaluate(exprs, points, budget):
    """Values of the trees at the points by SymPy, within `budget.deadline` (time.monotonic)."""
    return _worker.evaluate(exprs, points, budget)


# ---- the worker process ----

def _serve():
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_LIMIT_BYTES, _MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):
        pass
    try:
        import sympy
    except ImportError as err:
        _send({"error": f"cannot import sympy: {err}"})
        return
    builder = _Builder(sympy)
    requests = _stdin_lines()
    _send({"ready": sympy.__version__})
    while True:
        line = requests.get()
        try:
            req = json.loads(line)
            trees = [builder.build(e) for e in req["exprs"]]
            _send({"values": [[builder.value(t, p) for p in req["points"]] for t in trees]})
        except Exception as err:  # noqa: BLE001 -- a bad request must not end the worker
            _send({"error": repr(err)})


def _stdin_lines():
    """Request lines from stdin, read by a thread that ends this process when stdin closes: the
    grader has gone, and a SymPy evaluation in progress must not outlive it."""
    import queue

    lines = queue.Queue()

    def read():
        for line in iter(sys.stdin.buffer.readline, b""):
            lines.put(line)
        os._exit(0)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class _Builder:
    """The spec's JSON tree as an unevaluated SymPy expression (nothing is computed until evalf,
    so `10^(10^10)` stays a tree instead of a ten-billion-digit integer)."""

    def __init__(self, sympy):
        self.S = sympy
        S = sympy
        self.functions = {
            "sqrt": lambda x: S.Pow(x, S.Rational(1, 2), evaluate=False),
            "abs": lambda x: S.Abs(x, evaluate=False),
            "sin": lambda x: S.sin(x, evaluate=False), "cos": lambda x: S.cos(x, evaluate=False),
            "tan": lambda x: S.tan(x, evaluate=False), "sec": lambda x: S.sec(x, evaluate=False),
            "csc": lambda x: S.csc(x, evaluate=False), "cot": lambda x: S.cot(x, evaluate=False),
            "asin": lambda x: S.asin(x, evaluate=False), "acos": lambda x: S.acos(x, evaluate=False),
            "atan": lambda x: S.atan(x, evaluate=False), "log": lambda x: S.log(x, evaluate=False),
            "exp": lambda x: S.exp(x, evaluate=False),
        }

    def build(self, e):
        S, tag = self.S, e[0]
        if tag == "num":
            return S.Rational("0" + e[1] if e[1].startswith(".") else e[1])
        if tag == "var":
            return S.Symbol("v_" + e[1])
        if tag == "const":
            return S.pi if e[1] == "pi" else S.E
        if tag == "neg":
            return S.Mul(-1, self.build(e[1]), evaluate=False)
        if tag == "call":
            return self.functions[e[1]](self.build(e[2]))
        a, b = self.build(e[1]), self.build(e[2])
        if tag == "add":
            return S.Add(a, b, evaluate=False)
        if tag == "sub":
            return S.Add(a, S.Mul(-1, b, evaluate=False), evaluate=False)
        if tag == "mul":
            return S.Mul(a, b, evaluate=False)
        if tag == "div":
            return S.Mul(a, S.Pow(b, -1, evaluate=False), evaluate=False)
        if tag == "pow":
            return S.Pow(a, b, evaluate=False)
        raise ValueError(f"unknown node {tag!r}")

    def value(self, tree, point):
        """[re, im] of the tree at the point, or None where it is undefined (zoo, nan, inf)."""
        S = self.S
        subs = {S.Symbol("v_" + name): S.Float(x) for name, x in point.items()}
        try:
            re, im = (float(part) for part in tree.evalf(15, subs=subs).as_real_imag())
        except Exception:  # noqa: BLE001 -- mpmath and SymPy raise many kinds; all mean undefined
            return None
        return [re, im] if math.isfinite(re) and math.isfinite(im) else None


if __name__ == "__main__":
    _serve()
