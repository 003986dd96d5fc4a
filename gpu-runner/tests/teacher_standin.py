"""A stand-in for a real OpenAI-compatible teacher endpoint, for the runner's tests only.

It is NOT a model: POST {url}/chat/completions answers with canned chat-completion JSON. Each
reply comes from `script` while it has entries ((status, body): body a str is the message's
content, a dict is sent as the JSON body itself, bytes are sent as they are), then from
`reply(prompt)`. Every request is recorded (headers and JSON body).
"""
from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Deque, List, Optional, Tuple, Union

from api_standin import free_port

Body = Union[str, dict, bytes]


def completion(content: str, model: str = "stand-in-teacher") -> dict:
    """A chat completion as OpenAI's API shapes it."""
    return {"id": "chatcmpl-standin", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class StandInTeacher:
    def __init__(self, reply: Optional[Callable[[str], Body]] = None, key: Optional[str] = "sk-teacher-test"):
        self.port = free_port()
        self.key = key
        self.reply = reply or (lambda prompt: "Answer: 0")
        self.script: Deque[Tuple[int, Body, dict]] = deque()
        self.requests: List[dict] = []  # {"path", "authorization", "body"}
        self.lock = threading.Lock()
        self._server: Optional[ThreadingHTTPServer] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def then(self, status: int, body: Body, headers: Optional[dict] = None) -> "StandInTeacher":
        self.script.append((status, body, headers or {}))
        return self

    def start(self) -> "StandInTeacher":
        teacher = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                with teacher.lock:
                    teacher.requests.append({"path": self.path, "authorization": self.headers.get("Authorization"),
                                             "body": body})
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if teacher.key and self.headers.get("Authorization") != f"Bearer {teacher.key}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided",
                                                      "type": "invalid_request_error"}})
                with teacher.lock:
                    scripted = teacher.script.popleft() if teacher.script else None
                if scripted:
                    return self._send(*scripted)
                return self._send(200, teacher.reply(body["messages"][-1]["content"]))

            def _send(self, status: int, body: Body, headers: Optional[dict] = None):
                if isinstance(body, str):
                    body = completion(body)
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
