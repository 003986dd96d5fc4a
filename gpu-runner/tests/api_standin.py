"""A stand-in for the stagewise API's runner endpoints (PROTOCOL.md), for the runner's tests only.

It is NOT the API: the real endpoints are tested from the TypeScript side. It stores events once
per seq (as the API does), rollouts / traces / critiques once per key, records every request, and
can be told to refuse connections (by not listening yet), answer 500, or ask the runner to cancel.
BRIDGED traces and critiques are graded against the manifest's gold answers with the runner's own
grader (the API uses its TypeScript one).
"""
from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import List, Optional

from gpu_runner.grading import grade


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class StandInApi:
    def __init__(self, port: Optional[int] = None, run_id: str = "UnVuOjE", token: str = "sk-runner-test",
                 spec: Optional[dict] = None, manifest: Optional[List[dict]] = None):
        self.port = port or free_port()
        self.run_id, self.token = run_id, token
        self.spec = spec or {}
        self.manifest = manifest or []
        self.mode = "ok"  # ok | fail500
        self.cancel = False
        self.lock = threading.Lock()
        self.stored = {}  # seq -> event, each stored once
        self.accepted_seqs: List[int] = []  # seqs in the order they were first stored
        self.event_posts = 0
        self.empty_posts = 0
        self.failed_posts = 0
        self.rollouts = {}  # key -> rollout
        self.checkpoints = {}  # name -> body
        self.traces = {}  # key -> BRIDGED trace, with "correct" as graded here
        self.critiques = {}  # key -> critique, with "verified" as graded here
        self.post_sizes = {"traces": [], "critiques": []}  # rows per request
        self.request_log: List[str] = []  # "POST /events" ... in arrival order
        self._server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, work_dir: str) -> dict:
        return {"STAGEWISE_API_URL": self.url, "STAGEWISE_RUN_ID": self.run_id,
                "STAGEWISE_RUN_TOKEN": self.token, "STAGEWISE_WORK_DIR": work_dir}

    def events(self) -> List[dict]:
        with self.lock:
            return [self.stored[s] for s in sorted(self.stored)]

    def start(self) -> "StandInApi":
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, body, ctype="application/json"):
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str):
                prefix = f"/v1/runs/{api.run_id}"
                path = self.path[len(prefix):] if self.path.startswith(prefix) else None
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                with api.lock:
                    api.request_log.append(f"{method} {path}")
                if self.headers.get("Authorization") != f"Bearer {api.token}":
                    return self._send(401, {"error": {"code": "UNAUTHENTICATED", "message": "bad token"}})
                if path is None:
                    return self._send(403, {"error": {"code": "FORBIDDEN", "message": "not this run"}})
                if api.mode == "fail500":
                    with api.lock:
                        api.failed_posts += 1
                    return self._send(500, {"error": {"code": "INTERNAL", "message": "stand-in is down"}})
                if method == "GET" and path == "/spec":
                    return self._send(200, api.spec)
                if method == "GET" and path == "/manifest":
                    data = "".join(json.dumps(i) + "\n" for i in api.manifest).encode()
                    return self._send(200, data, "application/x-ndjson")
                if method == "POST" and path == "/events":
                    stored = dup = 0
                    with api.lock:
                        api.event_posts += 1
                        if not body["events"]:
                            api.empty_posts += 1
                        for e in body["events"]:
                            if e["seq"] in api.stored:
                                dup += 1
                            else:
                                api.stored[e["seq"]] = e
                                api.accepted_seqs.append(e["seq"])
                                stored += 1
                    return self._send(200, {"stored": stored, "duplicates": dup, "ignored": [],
                                            "runStatus": "RUNNING", "cancelRequested": api.cancel})
                if method == "POST" and path == "/rollouts":
                    if len(body["rollouts"]) > 1000:
                        return self._send(400, {"error": {"code": "BAD_USER_INPUT", "message": "too many"}})
                    with api.lock:
                        for r in body["rollouts"]:
                            api.rollouts[r["key"]] = r
                    return self._send(200, {"stored": len(body["rollouts"])})
                if method == "POST" and path in ("/traces", "/critiques"):
                    return self._send(*api._post_rows(path[1:], body))
                if method == "POST" and path == "/checkpoints":
                    with api.lock:
                        api.checkpoints[body["name"]] = body
                    return self._send(200, {"id": "Q2hlY2twb2ludDoy", "name": body["name"]})
                return self._send(404, {"error": {"code": "NOT_FOUND", "message": path}})

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def _post_rows(self, kind: str, body: dict):
        rows = body.get(kind)
        if not isinstance(rows, list) or len(rows) > 1000:
            return 400, {"error": {"code": "BAD_USER_INPUT", "message": f"{kind}: a list of at most 1000"}}
        gold = {it["sampleId"]: it["answer"] for it in self.manifest}
        answer = {"inserted": 0, "existing": 0, "verified": 0}
        if kind == "traces":
            answer["rejected"] = 0
        with self.lock:
            self.post_sizes[kind].append(len(rows))
            store = self.traces if kind == "traces" else self.critiques
            for r in rows:
                if r["key"] in store:
                    answer["existing"] += 1
                    continue
                answer["inserted"] += 1
                if kind == "traces":
                    ok = grade(r["text"], gold[r["sampleId"]]).correct
                    store[r["key"]] = dict(r, correct=ok)
                    answer["verified" if ok else "rejected"] += 1
                else:
                    ok = all(t is not None and grade(t, gold[r["sampleId"]]).correct
                             for t in (r["repair"], r["solution"]))
                    store[r["key"]] = dict(r, verified=ok)
                    answer["verified"] += int(ok)
        return 200, answer

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
