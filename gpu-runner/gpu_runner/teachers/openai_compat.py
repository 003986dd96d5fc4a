"""Teachers behind an OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, SGLang, ...).

`ChatClient` is the HTTP part, standard library only: POST `{url}/chat/completions` with
`{model, messages, temperature, max_tokens}` and a bearer key read from the environment variable
the config names. Connection errors, timeouts, 429 and 5xx are retried with doubling backoff
(429 / 503 honour Retry-After); 401, 403 and 404 mean the key, model or URL is wrong and raise
TeacherFatalError at once; any other 4xx is this item's failure (TeacherError), not retried.

The rewrite teacher takes the reply as the rewritten trace. The critique teacher asks for a JSON
object (diagnosis, verdict, first_wrong_step, repair, solution) and parses it, tolerating a fenced
```json block or prose around the object; a reply that does not parse is a TeacherError.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from typing import Callable, List, Optional

from . import VERDICTS, Critique, TeacherError, TeacherFatalError, fill_prompt

_FATAL_STATUSES = (401, 403, 404)
_FENCE = re.compile(r"```[A-Za-z]*[ \t]*\n?(.*?)```", re.DOTALL)


class ChatClient:
    """One OpenAI-compatible endpoint and model; `complete(messages)` returns the reply text."""

    def __init__(self, url: str, model: str, api_key: Optional[str] = None, *, temperature: float = 0.0,
                 max_tokens: int = 1024, timeout_s: float = 120.0, retries: int = 3, backoff_s: float = 1.0,
                 backoff_max_s: float = 30.0, sleep: Callable[[float], None] = time.sleep):
        self.url = url.rstrip("/")
        self.model, self.api_key = model, api_key
        self.temperature, self.max_tokens, self.timeout_s = temperature, max_tokens, timeout_s
        self.retries, self.backoff_s, self.backoff_max_s, self.sleep = retries, backoff_s, backoff_max_s, sleep

    @classmethod
    def from_config(cls, cfg) -> "ChatClient":
        """The client of a BRIDGE / CRITIQUE config; the key comes from $teacher_api_key_env."""
        key = None
        if cfg.teacher_api_key_env:
            key = os.environ.get(cfg.teacher_api_key_env)
            if not key:
                raise TeacherFatalError(
                    f"teacher_api_key_env names ${cfg.teacher_api_key_env}, which is not set in the runner's "
                    f"environment: set it where the runner starts, or set teacher_api_key_env to null for an "
                    f"endpoint that needs no key")
        return cls(cfg.teacher_url, cfg.teacher_model, key, temperature=cfg.teacher_temperature,
                   max_tokens=cfg.teacher_max_tokens, timeout_s=cfg.teacher_timeout_s, retries=cfg.teacher_retries)

    def complete(self, messages: List[dict]) -> str:
        body = json.dumps({"model": self.model, "messages": messages, "temperature": self.temperature,
                           "max_tokens": self.max_tokens}).encode()
        backoff, last = self.backoff_s, ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.sleep(backoff)
                backoff = min(backoff * 2, self.backoff_max_s)
            req = urllib.request.Request(self.url + "/chat/completions", data=body, method="POST")
            req.add_header("Content-Type", "application/json")
            if self.api_key:
                req.add_header("Authorization", f"Bearer {self.api_key}")
            try:
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    raw = resp.read()
            except urllib.error.HTTPError as e:
                status, message = e.code, _error_message(e.read())
                last = f"HTTP {status}: {message}"
                if status in _FATAL_STATUSES:
                    raise TeacherFatalError(
                        f"the teacher endpoint {self.url} refused the request ({last}); check teacher_url, "
                        f"teacher_model ({self.model!r}) and the key in teacher_api_key_env") from None
                if status != 429 and status < 500:
                    raise TeacherError(f"the teacher endpoint refused this request ({last})") from None
                retry_after = _retry_after(e.headers.get("Retry-After") if e.headers else None)
                if retry_after is not None:
                    backoff = min(max(backoff, retry_after), self.backoff_max_s)
                continue
            except (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, OSError) as e:
                last = f"{type(e).__name__}: {getattr(e, 'reason', e)}"
                continue
            return _reply_text(raw)
        raise TeacherError(f"the teacher endpoint {self.url} failed {self.retries + 1} times; last: {last}")


def _error_message(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    try:
        err = json.loads(text)["error"]
        return str(err.get("message", err) if isinstance(err, dict) else err)[:500]
    except Exception:
        return text[:500]


def _retry_after(value: Optional[str]) -> Optional[float]:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _reply_text(raw: bytes) -> str:
    """choices[0].message.content of a chat completion; TeacherError for anything else."""
    try:
        content = json.loads(raw)["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise TeacherError(f"the teacher's answer is not a chat completion: {raw[:200]!r}") from None
    if not isinstance(content, str) or not content.strip():
        raise TeacherError("the teacher's answer has no text")
    return content


def _unfence(text: str) -> str:
    """The inside of a reply that is one fenced block; the reply itself otherwise."""
    m = _FENCE.fullmatch(text.strip())
    return m.group(1).strip() if m else text.strip()


def parse_critique(text: str) -> Critique:
    """A Critique from the teacher's reply: a JSON object, bare, fenced, or amid prose."""
    candidates = [text.strip()] + [m.group(1) for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start:end + 1])
    obj = None
    for c in candidates:
        try:
            obj = json.loads(c)
        except ValueError:
            continue
        if isinstance(obj, dict):
            break
    if not isinstance(obj, dict):
        raise TeacherError(f"the critique is not a JSON object: {text[:200]!r}")

    def get(*names):
        return next((obj[n] for n in names if n in obj), None)

    diagnosis, verdict = get("diagnosis"), get("verdict")
    if not isinstance(diagnosis, str) or not diagnosis.strip():
        raise TeacherError("the critique has no diagnosis")
    verdict = verdict.strip().upper().replace(" ", "_") if isinstance(verdict, str) else verdict
    if verdict not in VERDICTS:
        raise TeacherError(f"the critique's verdict must be one of {', '.join(VERDICTS)}, got {verdict!r}")
    step = get("first_wrong_step", "firstWrongStep")
    if isinstance(step, str) and step.strip().isdigit():
        step = int(step)
    if isinstance(step, float) and step.is_integer():
        step = int(step)
    if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 1):
        raise TeacherError(f"the critique's first_wrong_step must be a step number from 1 or null, got {step!r}")
    texts = []
    for name in ("repair", "solution"):
        value = get(name)
        if value is not None and not isinstance(value, str):
            raise TeacherError(f"the critique's {name} must be text or null, got {type(value).__name__}")
        texts.append((value.strip() or None) if value is not None else None)
    return Critique(diagnosis.strip(), verdict, step, texts[0], texts[1])


class OpenAIRewriteTeacher:
    """BRIDGE `rewrite`: the reply to the filled-in prompt is the rewritten trace."""

    def __init__(self, client: ChatClient, prompt: str):
        self.client, self.prompt, self.name = client, prompt, client.model

    @classmethod
    def from_config(cls, cfg) -> "OpenAIRewriteTeacher":
        return cls(ChatClient.from_config(cfg), cfg.teacher_prompt)

    def rewrite(self, problem: str, answer: str, trace: str) -> str:
        prompt = fill_prompt(self.prompt, problem=problem, trace=trace, answer=answer)
        text = _unfence(self.client.complete([{"role": "user", "content": prompt}]))
        if not text:
            raise TeacherError("the rewrite is empty")
        return text


class OpenAICritiqueTeacher:
    """CRITIQUE: the reply to the filled-in prompt is parsed as a JSON critique."""

    def __init__(self, client: ChatClient, prompt: str):
        self.client, self.prompt, self.name = client, prompt, client.model

    @classmethod
    def from_config(cls, cfg) -> "OpenAICritiqueTeacher":
        return cls(ChatClient.from_config(cfg), cfg.teacher_prompt)

    def critique(self, problem: str, answer: str, rollout: str) -> Critique:
        prompt = fill_prompt(self.prompt, problem=problem, rollout=rollout, trace=rollout, answer=answer)
        return parse_critique(self.client.complete([{"role": "user", "content": prompt}]))
