"""The runner side of PROTOCOL.md: environment, endpoint paths, event shapes, error classes.

Kept free of HTTP and threads so that both the real client and the offline one share it.
"""
from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from typing import Optional

ENV_API_URL = "STAGEWISE_API_URL"
ENV_RUN_ID = "STAGEWISE_RUN_ID"
ENV_RUN_TOKEN = "STAGEWISE_RUN_TOKEN"
# Where a launcher cannot hand the token over in the environment without writing it into an
# artifact (a Slurm batch script is stored by the controller), it writes a 0600 file instead.
ENV_RUN_TOKEN_FILE = "STAGEWISE_RUN_TOKEN_FILE"
ENV_WORK_DIR = "STAGEWISE_WORK_DIR"

EVENT_TYPES = ("STATUS", "PROGRESS", "METRIC", "LOG", "ARTIFACT")

BUFFER_FILE = "events.buffer.jsonl"
HEARTBEAT_EVERY_S = 5.0  # the contract says "at least every 10 s": half of it leaves slack
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 10.0
FLUSH_TIMEOUT_S = 120.0
MAX_ROLLOUTS_PER_REQUEST = 1000
MAX_TRACES_PER_REQUEST = 1000
MAX_CRITIQUES_PER_REQUEST = 1000


class ApiError(Exception):
    """The API answered 4xx: this request is wrong and is not retried."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(f"HTTP {status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


class ApiUnavailable(Exception):
    """A connection error or a 5xx: try again later."""


@dataclass(frozen=True)
class RunEnv:
    api_url: str
    run_id: str
    token: str
    work_dir: str

    @property
    def base(self) -> str:
        return f"{self.api_url.rstrip('/')}/v1/runs/{self.run_id}"

    @classmethod
    def from_environ(cls, environ=None) -> "RunEnv":
        environ = os.environ if environ is None else environ
        token = environ.get(ENV_RUN_TOKEN) or read_token_file(environ.get(ENV_RUN_TOKEN_FILE))
        missing = [v for v in (ENV_API_URL, ENV_RUN_ID, ENV_WORK_DIR) if not environ.get(v)]
        if not token:
            missing.append(f"{ENV_RUN_TOKEN} (or {ENV_RUN_TOKEN_FILE})")
        if missing:
            raise SystemExit(
                "gpu_runner: missing environment " + ", ".join(missing) + ". The API's launcher sets "
                "them (see gpu-runner/PROTOCOL.md); to run without an API use "
                "`python3 -m gpu_runner --offline --spec spec.json [--manifest items.ndjson] --work-dir DIR`."
            )
        work_dir = environ[ENV_WORK_DIR]
        os.makedirs(work_dir, exist_ok=True)
        return cls(environ[ENV_API_URL], environ[ENV_RUN_ID], token, work_dir)


def read_token_file(path: Optional[str]) -> Optional[str]:
    """The token from $STAGEWISE_RUN_TOKEN_FILE, which is then removed: the runner keeps the token in
    memory only, so no copy stays on a shared disk for the run's whole length. The launcher removes
    the file too when the job ends (for a runner that never got this far)."""
    if not path:
        return None
    try:
        with open(path) as f:
            token = f.read().strip()
    except OSError as e:
        raise SystemExit(f"gpu_runner: cannot read {ENV_RUN_TOKEN_FILE} ({path}): {e.strerror}") from None
    try:
        os.remove(path)
    except OSError:
        pass  # read-only or already gone: the launcher removes it when the job ends
    return token or None


def now_iso() -> str:
    """UTC, millisecond precision, 'Z' suffix: 2026-11-26T04:00:00.000Z."""
    t = _dt.datetime.now(_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def make_event(seq: int, type_: str, payload: dict, at: Optional[str] = None) -> dict:
    if type_ not in EVENT_TYPES:
        raise ValueError(f"event type must be one of {EVENT_TYPES}, got {type_!r}")
    return {"seq": seq, "type": type_, "payload": payload, "at": at or now_iso()}
