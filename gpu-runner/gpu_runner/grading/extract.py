"""Extraction (extract.ts, SPEC.md §1): which part of a model's output is its final answer. Every
rule is a single left-to-right pass, so megabytes of unclosed `\\boxed{` cost one scan."""
from __future__ import annotations

import re
from typing import List, Optional

from .text import bracket_delta, strip_trailing_dots, trim_ws

# `\\`, `\{`, `\}` are escapes (skipped); `\boxed{` / `\fbox{` open an answer; `{` `}` nest.
_BRACE_TOKENS = re.compile(r"\\\\|\\[{}]|\\(?:boxed|fbox)[ \t\r\n]*\{|[{}]")
_THE_ANSWER_IS = re.compile(r"the[ \t]+(?:final[ \t]+)?answer[ \t]+is(?![A-Za-z])[ \t]*:?", re.I | re.A)
_HASHES = re.compile(r"#{4,}")
_ANSWER_COLON = re.compile(r"(?<![A-Za-z])answer[ \t]*:", re.I | re.A)
_NUMBER = re.compile(r"-?[0-9]+(?:,[0-9]{3}(?![0-9]))*(?:\.[0-9]+)?")


def extract_answer(text: str) -> Optional[str]:
    """The final answer in a model's output, or None when it gives none."""
    for rule in (_last_boxed, lambda t: _phrase_answer(t, _THE_ANSWER_IS),
                 lambda t: _phrase_answer(t, _HASHES), lambda t: _phrase_answer(t, _ANSWER_COLON),
                 _last_number):
        answer = rule(text)
        if answer is not None:
            return answer
    return None


def _last_boxed(text: str) -> Optional[str]:
    """The content of the `\\boxed{}` / `\\fbox{}` group that closes last (brace-matched)."""
    stack: List[int] = []  # content start of an open \boxed{, or -1 for a plain {
    found = None
    for m in _BRACE_TOKENS.finditer(text):
        token = m.group()
        if token == "{":
            stack.append(-1)
        elif token == "}":
            start = stack.pop() if stack else -1
            if start >= 0:
                inner = trim_ws(text[start:m.start()])
                if inner:
                    found = inner
        elif len(token) > 2:
            stack.append(m.end())
    return found


def _phrase_answer(text: str, phrase) -> Optional[str]:
    end = -1
    for m in phrase.finditer(text):
        end = m.end()
    if end < 0:
        return None
    newline = text.find("\n", end)
    answer = _clean_phrase(text[end:newline if newline >= 0 else len(text)])
    return answer or None


def _clean_phrase(raw: str) -> str:
    s = trim_ws(raw).strip("* \t")
    for open_, close in (("$$", "$$"), ("$", "$"), ("\\(", "\\)")):
        if s.startswith(open_):
            j = s.find(close, len(open_))
            if j >= 0:
                s = s[:j + len(close)]
            break
    else:
        s = s[:_sentence_end(s)]
    return strip_trailing_dots(trim_ws(s))


def _sentence_end(s: str) -> int:
    depth = 0
    for i, c in enumerate(s):
        depth += bracket_delta(c)
        if depth > 0:
            continue
        nxt = s[i + 1:i + 2]
        if c == "." and nxt in (" ", "\t"):
            return i
        if c == ";":
            return i
        if c == "," and nxt == " " and re.match(r"[a-z]{2}", s[i + 2:i + 4]):
            return i
    return len(s)


def _last_number(text: str) -> Optional[str]:
    last = None
    for last in _NUMBER.finditer(text):
        pass
    if last is None:
        return None
    n = last.group()
    if n.startswith("-") and last.start() > 0 and re.match(r"[A-Za-z0-9)]", text[last.start() - 1]):
        n = n[1:]
    return n.replace(",", "")
