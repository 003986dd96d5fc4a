"""Talking to the API: an HTTP client (stdlib urllib) and the event reporter.

The reporter owns the runner's event seq numbers, batches events, sends a heartbeat from a
background thread, and never lets an unreachable API stop training: undelivered events go to
$STAGEWISE_WORK_DIR/events.buffer.jsonl and are resent in seq order, with backoff, once the API
answers again. Rollouts, BRIDGED traces, critiques and checkpoint registrations ride the same
thread (they are idempotent by key / name, so resending is safe) and are delivered before the
final STATUS.
"""
from __future__ import annotations

import http.client
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from typing import Callable, Deque, Dict, List, Optional, Tuple

from .protocol import (
    BACKOFF_MAX_S,
    BACKOFF_START_S,
    BUFFER_FILE,
    FLUSH_TIMEOUT_S,
    HEARTBEAT_EVERY_S,
    MAX_CRITIQUES_PER_REQUEST,
    MAX_ROLLOUTS_PER_REQUEST,
    MAX_TRACES_PER_REQUEST,
    ApiError,
    ApiUnavailable,
    RunEnv,
    make_event,
)


def _warn(msg: str) -> None:
    try:
        print(f"gpu_runner: {msg}", file=sys.stderr, flush=True)
    except OSError:
        pass  # stderr is a file on a full disk: a warning must not stop the sender thread


class ApiClient:
    """The endpoints of PROTOCOL.md under $STAGEWISE_API_URL/v1/runs/$STAGEWISE_RUN_ID."""

    def __init__(self, env: RunEnv, timeout_s: float = 30.0):
        self.env = env
        self.timeout_s = timeout_s

    def _open(self, method: str, path: str, body: Optional[dict] = None):
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        req = urllib.request.Request(self.env.base + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {self.env.token}")
        req.add_header("Accept", "application/json, application/x-ndjson")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            return urllib.request.urlopen(req, timeout=self.timeout_s)
        except urllib.error.HTTPError as e:
            raw = e.read()
            code, message = "HTTP_%d" % e.code, raw.decode("utf-8", "replace")[:500]
            try:
                err = json.loads(raw)["error"]
                code, message = err.get("code", code), err.get("message", message)
            except Exception:
                pass
            if e.code >= 500:
                raise ApiUnavailable(f"{method} {path}: HTTP {e.code} {code}: {message}") from None
            raise ApiError(e.code, code, message) from None
        except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, OSError) as e:
            raise ApiUnavailable(f"{method} {path}: {e}") from None

    def _json(self, method: str, path: str, body: Optional[dict] = None) -> dict:
        with self._open(method, path, body) as resp:
            try:
                raw = resp.read()
            except (http.client.HTTPException, ConnectionError, socket.timeout, OSError) as e:
                raise ApiUnavailable(f"{method} {path}: {e}") from None
        return json.loads(raw) if raw.strip() else {}

    def get_spec(self) -> dict:
        return self._json("GET", "/spec")

    def get_manifest(self) -> List[dict]:
        """All items, in ordinal order (read as a stream, line by line)."""
        items = []
        with self._open("GET", "/manifest") as resp:
            try:
                for line in resp:
                    if line.strip():
                        items.append(json.loads(line))
            except (http.client.HTTPException, ConnectionError, socket.timeout, OSError) as e:
                raise ApiUnavailable(f"GET /manifest: stream broke after {len(items)} items: {e}") from None
        return items

    def post_events(self, events: List[dict]) -> dict:
        return self._json("POST", "/events", {"events": events})

    def post_checkpoint(self, body: dict) -> dict:
        return self._json("POST", "/checkpoints", body)

    def post_rollouts(self, rollouts: List[dict]) -> dict:
        return self._json("POST", "/rollouts", {"rollouts": rollouts})

    def post_traces(self, traces: List[dict]) -> dict:
        return self._json("POST", "/traces", {"traces": traces})

    def post_critiques(self, critiques: List[dict]) -> dict:
        return self._json("POST", "/critiques", {"critiques": critiques})


class OfflineClient:
    """Runs without an API: spec and manifest from files; what would be posted is appended as
    NDJSON under the work dir (events.ndjson, rollouts.ndjson, traces.ndjson, critiques.ndjson,
    checkpoints.ndjson)."""

    def __init__(self, spec: dict, manifest: List[dict], work_dir: str, echo: bool = True):
        self.spec, self.manifest, self.work_dir, self.echo = spec, manifest, work_dir, echo
        os.makedirs(work_dir, exist_ok=True)

    def _append(self, name: str, rows: List[dict]) -> None:
        with open(os.path.join(self.work_dir, name), "a") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")

    def get_spec(self) -> dict:
        return self.spec

    def get_manifest(self) -> List[dict]:
        return self.manifest

    def post_events(self, events: List[dict]) -> dict:
        self._append("events.ndjson", events)
        if self.echo:
            for e in events:
                print(f"[{e['seq']}] {e['type']} {json.dumps(e['payload'])}", flush=True)
        return {"stored": len(events), "duplicates": 0, "runStatus": "RUNNING", "cancelRequested": False}

    def post_checkpoint(self, body: dict) -> dict:
        self._append("checkpoints.ndjson", [body])
        return {}

    def post_rollouts(self, rollouts: List[dict]) -> dict:
        self._append("rollouts.ndjson", rollouts)
        return {}

    def post_traces(self, traces: List[dict]) -> dict:
        self._append("traces.ndjson", traces)
        return {}

    def post_critiques(self, critiques: List[dict]) -> dict:
        self._append("critiques.ndjson", critiques)
        return {}


def fetch_with_retry(fn: Callable, what: str, deadline_s: float = 600.0, sleep=time.sleep):
    """Start-up reads (spec, manifest): nothing can run without them, so wait for the API with
    backoff, up to `deadline_s`; a 4xx is raised at once."""
    backoff, started = BACKOFF_START_S, time.monotonic()
    while True:
        try:
            return fn()
        except ApiUnavailable as e:
            if time.monotonic() - started > deadline_s:
                raise
            _warn(f"{what}: API unavailable ({e}); retrying in {backoff:.1f}s")
            sleep(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)


class EventReporter:
    """Events with the runner's own gapless seq; one background thread sends them.

    Sending order: queued requests (rollouts, traces, critiques, checkpoints; in the order they were
    queued) first, then buffered events from the file (oldest seqs), then in-memory events, then a
    heartbeat if nothing went out for `heartbeat_s`. A failed send spills every in-memory event to
    the buffer file, so the file always holds a seq-contiguous prefix of what is undelivered and
    order is kept across outages.
    """

    def __init__(
        self,
        client,
        work_dir: str,
        *,
        enabled: bool = True,
        heartbeat_s: float = HEARTBEAT_EVERY_S,
        batch_max: int = 200,
        flush_interval_s: float = 1.0,
        backoff_start_s: float = BACKOFF_START_S,
        backoff_max_s: float = BACKOFF_MAX_S,
    ):
        self.client = client
        self.enabled = enabled
        self.heartbeat_s = heartbeat_s
        self.batch_max = batch_max
        self.flush_interval_s = flush_interval_s
        self.backoff_start_s, self.backoff_max_s = backoff_start_s, backoff_max_s
        self.buffer_path = os.path.join(work_dir, BUFFER_FILE)
        if os.path.exists(self.buffer_path) and os.path.getsize(self.buffer_path) > 0:
            # A previous process's leftovers carry its own seqs: keep them for inspection only.
            os.replace(self.buffer_path, self.buffer_path + ".prev")
        self.cancel_requested = threading.Event()
        self.last_response: Optional[dict] = None
        self.dropped: List[Tuple[str, str]] = []  # (what, why) for 4xx answers, never retried
        self.answers: Dict[str, Dict[str, int]] = {}  # per request kind, the API's counts added up
        self._cv = threading.Condition()
        self._seq = 0
        self._queue: Deque[dict] = deque()
        self._requests: Deque[Tuple[str, dict]] = deque()
        self._file_total = 0  # events written to the buffer file
        self._file_sent = 0  # of which delivered
        self._oldest_at = 0.0
        self._last_send = 0.0
        self._next_try = 0.0
        self._backoff = backoff_start_s
        self._flushing = False
        self._spill_failed = False  # warned once that the buffer file cannot be written
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="stagewise-reporter", daemon=True)

    # ---- producer side (the training thread) ----

    def start(self) -> "EventReporter":
        self._thread.start()
        return self

    def emit(self, type_: str, payload: dict, force: bool = False) -> Optional[int]:
        """Queue one event; returns its seq, or None when reporting is off (`report_events: false`
        keeps only STATUS events, which the run's state machine needs)."""
        if not (self.enabled or force or type_ == "STATUS"):
            return None
        with self._cv:
            self._seq += 1
            if not self._queue:
                self._oldest_at = time.monotonic()
            self._queue.append(make_event(self._seq, type_, payload))
            if len(self._queue) >= self.batch_max:
                self._cv.notify_all()
            return self._seq

    def status(self, status: str, message: Optional[str] = None) -> Optional[int]:
        payload = {"status": status}
        if message is not None:
            payload["message"] = message
        return self.emit("STATUS", payload)

    def progress(self, step: int, total_steps: int, eta_s: Optional[float], **extra) -> None:
        payload = {"step": step, "totalSteps": total_steps, "etaSeconds": None if eta_s is None else round(eta_s, 2)}
        payload.update(extra)
        self.emit("PROGRESS", payload)

    def metric(self, step: int, values: Dict[str, float]) -> None:
        payload = {k: float(v) for k, v in values.items()}
        payload["step"] = step
        self.emit("METRIC", payload)

    def log(self, line: str, stream: str = "runner", force: bool = False) -> None:
        self.emit("LOG", {"stream": stream, "line": line}, force=force)

    def artifact(self, kind: str, uri: Optional[str], **extra) -> None:
        payload = {"kind": kind, "uri": uri}
        payload.update(extra)
        self.emit("ARTIFACT", payload)

    def post_rollouts(self, rollouts: List[dict]) -> None:
        self._queue_rows("rollouts", rollouts, MAX_ROLLOUTS_PER_REQUEST)

    def post_traces(self, traces: List[dict]) -> None:
        """BRIDGED traces for POST /traces, idempotent by key."""
        self._queue_rows("traces", traces, MAX_TRACES_PER_REQUEST)

    def post_critiques(self, critiques: List[dict]) -> None:
        """Critiques for POST /critiques, idempotent by key."""
        self._queue_rows("critiques", critiques, MAX_CRITIQUES_PER_REQUEST)

    def _queue_rows(self, kind: str, rows: List[dict], per_request: int) -> None:
        with self._cv:
            for i in range(0, len(rows), per_request):
                self._requests.append((kind, {kind: rows[i:i + per_request]}))
            self._cv.notify_all()

    def register_checkpoint(self, body: dict) -> None:
        with self._cv:
            self._requests.append(("checkpoint", body))
            self._cv.notify_all()

    def pending(self) -> Tuple[int, int, int]:
        """(requests, buffered-in-file, in-memory) still undelivered."""
        with self._cv:
            return len(self._requests), self._file_total - self._file_sent, len(self._queue)

    def wait_for_requests(self, timeout_s: float) -> bool:
        """Block until every queued request (rollouts, traces, ...) is delivered, before a final STATUS."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            self._flushing = True
            self._cv.notify_all()
            while self._requests and time.monotonic() < deadline:
                self._cv.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            self._flushing = False
            return not self._requests

    def close(self, timeout_s: float = FLUSH_TIMEOUT_S) -> bool:
        """Flush everything (up to `timeout_s`) and stop the thread. True if all was delivered."""
        deadline = time.monotonic() + timeout_s
        with self._cv:
            self._flushing = True
            self._cv.notify_all()
            while self._has_work() and time.monotonic() < deadline and self._thread.is_alive():
                self._cv.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            done = not self._has_work()
            self._stop = True
            self._cv.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=max(0.0, deadline - time.monotonic()) + 1.0)
        if not done:
            r, f, q = self.pending()
            _warn(f"could not deliver everything before exiting: {r} requests, {f + q} events "
                  f"(the events are in {self.buffer_path})")
        return done

    # ---- the sender thread ----

    def _has_work(self) -> bool:
        return bool(self._requests or self._queue or self._file_total > self._file_sent)

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._stop:
                    now = time.monotonic()
                    if now >= self._next_try and (self._due(now) or now - self._last_send >= self.heartbeat_s):
                        break
                    wake = self._last_send + self.heartbeat_s
                    if self._queue and not self._flushing:
                        wake = min(wake, self._oldest_at + self.flush_interval_s)
                    wake = max(wake, self._next_try)
                    self._cv.wait(max(0.01, min(wake - now, 0.5)))
                if self._stop:
                    return
            ok = self._pump()
            with self._cv:
                now = time.monotonic()
                self._last_send = now
                if ok:
                    self._backoff = self.backoff_start_s
                    self._next_try = now
                else:
                    self._next_try = now + self._backoff
                    self._backoff = min(self._backoff * 2, self.backoff_max_s)
                self._cv.notify_all()

    def _due(self, now: float) -> bool:
        if self._requests or self._file_total > self._file_sent:
            return True
        if not self._queue:
            return False
        return self._flushing or len(self._queue) >= self.batch_max or now - self._oldest_at >= self.flush_interval_s

    def _pump(self) -> bool:
        """One round of sending; False after a retryable failure (the caller backs off)."""
        # 1. rollouts, traces, critiques and checkpoints, in order
        while True:
            with self._cv:
                if not self._requests:
                    break
                kind, body = self._requests[0]
            try:
                if kind == "checkpoint":
                    answer = self.client.post_checkpoint(body)
                else:
                    answer = getattr(self.client, f"post_{kind}")(body[kind])
                self._count_answer(kind, answer)
            except ApiUnavailable as e:
                self._spill()
                _warn(f"{kind}: {e}; will retry")
                return False
            except ApiError as e:
                self.dropped.append((kind, str(e)))
                _warn(f"{kind} refused, not retried: {e}")
            with self._cv:
                self._requests.popleft()
        # 2. events: the buffer file first (older seqs), then memory; an empty batch is a heartbeat
        while True:
            from_file = False
            with self._cv:
                if self._file_total > self._file_sent:
                    from_file = True
                    batch = self._read_file_batch()
                else:
                    batch = list(self._queue)[: self.batch_max]
            try:
                self._handle_response(self.client.post_events(batch))
            except ApiUnavailable as e:
                self._spill()
                if batch:
                    _warn(f"events: {e}; buffering to {self.buffer_path}")
                return False
            except ApiError as e:
                self.dropped.append(("events", str(e)))
                _warn(f"events {batch[0]['seq'] if batch else ''}..: refused, not retried: {e}")
            with self._cv:
                if from_file:
                    self._file_sent += len(batch)
                    if self._file_sent >= self._file_total:
                        open(self.buffer_path, "w").close()  # all resent: start the file afresh
                        self._file_total = self._file_sent = 0
                else:
                    for _ in batch:
                        self._queue.popleft()
                    self._oldest_at = time.monotonic()
                more = self._file_total > self._file_sent or len(self._queue) >= self.batch_max or (
                    self._flushing and self._queue)
            if not more:
                return True

    def _count_answer(self, kind: str, answer) -> None:
        if not isinstance(answer, dict):
            return
        with self._cv:
            totals = self.answers.setdefault(kind, {})
            for k, v in answer.items():
                if isinstance(v, int) and not isinstance(v, bool):
                    totals[k] = totals.get(k, 0) + v

    def _handle_response(self, resp: dict) -> None:
        self.last_response = resp
        if resp and (resp.get("cancelRequested") or resp.get("runStatus") in ("CANCELLING", "CANCELLED")):
            self.cancel_requested.set()

    def _read_file_batch(self) -> List[dict]:
        """Events [_file_sent, _file_sent + batch_max) of the buffer file (caller holds the lock)."""
        batch = []
        with open(self.buffer_path) as f:
            for i, line in enumerate(f):
                if i < self._file_sent:
                    continue
                if len(batch) >= self.batch_max:
                    break
                batch.append(json.loads(line))
        return batch

    def _spill(self) -> None:
        """Move every in-memory event to the end of the buffer file (they are all newer than it).

        When the file cannot take them (a full disk), what was appended is cut off again and the
        events stay in memory: the file still holds a seq-contiguous prefix, so order is kept, and
        the sender thread goes on (it would otherwise die and lose every later event)."""
        with self._cv:
            if not self._queue:
                return
            data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in self._queue).encode()
            try:
                _append_whole(self.buffer_path, data)
            except OSError as e:
                if not self._spill_failed:
                    _warn(f"cannot buffer events in {self.buffer_path} ({e}); keeping them in memory")
                self._spill_failed = True
                return
            self._file_total += len(self._queue)
            self._queue.clear()


def _append_whole(path: str, data: bytes) -> None:
    """Append `data` and fsync, or leave the file as it was (cut back) and raise: a buffer file
    never ends in half an event, whatever the disk says."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        start = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, start)
            except OSError:
                pass  # not a regular file (a device): nothing of it to cut back
            raise
    finally:
        os.close(fd)
