"""The grader: the final answer of a model's output, and whether it equals the gold answer.

The spec is src/grading/SPEC.md (version GRADER_VERSION); the API implements it in TypeScript
(src/grading/), and both run every case of tests/fixtures/grading-cases.jsonl. This file follows
the TypeScript files section by section (extract, normalize, numbers, latex-expr, symbolic,
equivalence); keep the two in step, and follow the spec's portability rules (ASCII classes
written out, `\\Z` where JavaScript has `$`). Symbolic evaluation runs SymPy in a worker process
(grading_symbolic.py) so that no answer can hang the caller.

    python3 -m gpu_runner.grading FILE [--out FILE]   # grade JSONL lines {"gold", "output"}
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from typing import List, NamedTuple, Optional

from . import grading_symbolic

GRADER_VERSION = "stagewise-grader/1"

MAX_ANSWER_CHARS = 1000
MAX_ITEMS = 32
MAX_NESTING = 3
# The verdict rule bounds symbolic work by a count of tree nodes evaluated (symbolic.ts's
# SYMBOLIC_STEP_BUDGET), never by a clock. The time limit is only a safety stop for what no count
# can bound, SymPy's own pathological cases (SPEC.md §4); ordinary answers finish in milliseconds.
SYMBOLIC_STEP_BUDGET = 200_000
SYMBOLIC_TIME_LIMIT_S = 10.0


class Grade(NamedTuple):
    final_answer: Optional[str]
    correct: bool
    reward: float


def grade(text: str, gold: str) -> Grade:
    """Reward 1 for a correct final answer, 0 otherwise (the RL reward)."""
    answer = extract_answer(text)
    ok = is_equivalent(answer, gold)
    return Grade(answer, ok, 1.0 if ok else 0.0)


# ---- text helpers (text.ts) ----

_WS = " \t\n\r\f\v"


def _trim(s: str) -> str:
    return s.strip(_WS)


def _strip_trailing_dots(s: str) -> str:
    return s.rstrip(_WS + ".")


def _matching_brace(s: str, open_: int) -> int:
    """Index of the `}` closing the `{` at open_, or -1; a backslash escapes the next char."""
    depth, i = 0, open_
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 1
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _bracket_delta(c: str) -> int:
    return 1 if c in "([{" else -1 if c in ")]}" else 0


def _utf16_len(s: str) -> int:
    """The spec measures lengths in UTF-16 units, as JavaScript does."""
    return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) // 2


# ---- extraction (extract.ts, SPEC.md §1) ----

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
    stack: List[int] = []  # content start of an open \boxed{, or -1 for a plain {
    found = None
    for m in _BRACE_TOKENS.finditer(text):
        token = m.group()
        if token == "{":
            stack.append(-1)
        elif token == "}":
            start = stack.pop() if stack else -1
            if start >= 0:
                inner = _trim(text[start:m.start()])
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
    s = _trim(raw).strip("* \t")
    for open_, close in (("$$", "$$"), ("$", "$"), ("\\(", "\\)")):
        if s.startswith(open_):
            j = s.find(close, len(open_))
            if j >= 0:
                s = s[:j + len(close)]
            break
    else:
        s = s[:_sentence_end(s)]
    return _strip_trailing_dots(_trim(s))


def _sentence_end(s: str) -> int:
    depth = 0
    for i, c in enumerate(s):
        depth += _bracket_delta(c)
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


# ---- normalisation (normalize.ts, SPEC.md §2) ----

_UNICODE = [
    (re.compile("\u2212"), "-"),
    (re.compile("[\u00d7\u00b7\u22c5]"), "*"),
    (re.compile("\u00f7"), "/"),
    (re.compile("\u03c0"), r"\\pi "),
    (re.compile("\u221e"), r"\\infty "),
    (re.compile("\u221a"), r"\\sqrt"),
    (re.compile("\u00b0"), ""),
    (re.compile("[\u00a0\u2009\u202f]"), " "),
]
_TEXT_UNIT_AT_END = re.compile(
    r"([0-9}%)]) *\\(?:text|textrm|textnormal|mathrm|mbox)\{ *[A-Za-z][A-Za-z /]*\}(?:\^\{?[0-9]\}?)? *\Z")
_TEXT_MACRO = re.compile(
    r"\\(?:text|textrm|textnormal|textbf|textit|mathrm|mathbf|mathit|mbox|operatorname|boldsymbol)"
    r" *\{([^{}]*)\}")
_UNIT_WORDS_AT_END = re.compile(r"([0-9}%)]) +([A-Za-z]{2,}(?: +[A-Za-z]{2,})*)(?:\^\{?[0-9]\}?)? *\Z")
_MATH_WORDS = {"pi", "sqrt", "sin", "cos", "tan", "log", "ln", "exp"}
_VARIABLE_PREFIX = re.compile(r"^ *[A-Za-z](?:_\{?[A-Za-z0-9]+\}?)? *= *")
_THOUSANDS = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?%?")
_BOXED_OPENER = re.compile(r"\\(?:boxed|fbox) *\{")
_BRACE_OPENER = re.compile(r"\{")


def _unit_words(m) -> str:
    words = re.split(" +", m.group(2))
    return m.group(0) if any(w.lower() in _MATH_WORDS for w in words) else m.group(1)


def normalize(answer: str) -> str:
    """The answer rewritten by SPEC.md §2; answers differing only in notation come out equal."""
    s = answer
    # 1. Unicode maths symbols
    for pattern, to in _UNICODE:
        s = pattern.sub(to, s)
    # 2. delimiters and sizing
    s = s.replace("\\$", "").replace("$", "")
    s = re.sub(r"\\[()\[\]]", "", s)
    s = re.sub(r"\\(?:displaystyle|textstyle)(?![A-Za-z])", "", s)
    s = re.sub(r"\\(?:left|right|bigl|bigr|Bigl|Bigr|big|Big)(?![A-Za-z])\.?", "", s)
    # 3. spacing
    s = re.sub(r"\\[,;:! ]", " ", s)
    s = re.sub(r"\\q?quad(?![A-Za-z])", " ", s).replace("~", " ")
    s = _strip_trailing_dots(_trim(s))
    # 4. a \boxed{} around the whole answer
    s = _unwrap_whole(s, _BOXED_OPENER)
    # 5. a unit in \text{} at the end, after a number
    s = _TEXT_UNIT_AT_END.sub(r"\1", s, count=1)
    # 6. other text macros keep their content
    for _pass in range(3):
        s = _TEXT_MACRO.sub(r"\1", s)
    # 7. degrees (with a Celsius / Fahrenheit letter)
    s = re.sub(r"\^\{?\\circ\}?(?: *[CF](?![A-Za-z]))?", "", s)
    s = re.sub(r"\\(?:circ|degree)(?![A-Za-z])", "", s)
    # 8. percent
    s = re.sub(r" *(?:percent|per cent)\Z", "%", s.replace("\\%", "%"), count=1)
    # 9. unit words at the end, after a number
    s = _UNIT_WORDS_AT_END.sub(_unit_words, s, count=1)
    # 10. commands with a plain spelling
    s = re.sub(r"\\[dt]frac(?![A-Za-z])", r"\\frac", s)
    s = re.sub(r"\\(?:cdot|times)(?![A-Za-z])", "*", s)
    s = re.sub(r"\\div(?![A-Za-z])", "/", s)
    s = re.sub(r"\\lbrace(?![A-Za-z])", r"\\{", s)
    s = re.sub(r"\\rbrace(?![A-Za-z])", r"\\}", s)
    s = re.sub(r"\\[lr]?vert(?![A-Za-z])", "|", s)
    s = re.sub(r"_([0-9A-Za-z])", r"_{\1}", s)  # a one-character subscript: \log_2 8, x_1 y
    # 11. "x = 5" is 5
    if s.count("=") == 1:
        s = _VARIABLE_PREFIX.sub("", s, count=1)
    # 12. whitespace
    s = _strip_trailing_dots(re.sub(r"[ \t\n\r\f\v]+", "", s))
    # 13. thousands separators
    s = s.replace("{,}", ",")
    if _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    # 14. \frac12, \sqrt2
    s = re.sub(r"\\frac([0-9A-Za-z])([0-9A-Za-z])", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac\{([^{}]*)\}([0-9A-Za-z])", r"\\frac{\1}{\2}", s)
    s = re.sub(r"\\frac([0-9A-Za-z])\{", r"\\frac{\1}{", s)
    s = re.sub(r"\\sqrt([0-9A-Za-z])", r"\\sqrt{\1}", s)
    # 15. signs
    s = s.replace("+\\infty", "\\infty")
    if s.startswith("+"):
        s = s[1:]
    # 16. braces around everything; a multiple-choice letter
    s = _unwrap_whole(s, _BRACE_OPENER)
    m = re.fullmatch(r"\(([A-Za-z])\)", s)
    return m.group(1) if m else s


def _unwrap_whole(s: str, opener) -> str:
    while True:
        m = opener.match(s)
        if not m:
            return s
        open_ = m.end() - 1
        if _matching_brace(s, open_) != len(s) - 1:
            return s
        s = _trim(s[open_ + 1:-1])


# ---- plain numbers (numbers.ts, SPEC.md §3.5) ----

_N = r"(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_PLAIN = re.compile(rf"(-?)({_N})")
_SLASH = re.compile(rf"(-?)({_N})/({_N})")
_FRAC = re.compile(rf"(-?)\\frac\{{(-?{_N})\}}\{{(-?{_N})\}}")
_MIXED = re.compile(r"(-?)([0-9]+)\\frac\{([0-9]+)\}\{([0-9]+)\}")


def _plain_number(s: str) -> Optional[float]:
    m = _PLAIN.fullmatch(s)
    if m:
        return _finite(_sign(m.group(1)) * float(m.group(2)))
    m = _SLASH.fullmatch(s) or _FRAC.fullmatch(s)
    if m:
        return _ratio(_sign(m.group(1)), float(m.group(2)), float(m.group(3)))
    m = _MIXED.fullmatch(s)
    if m:
        frac = _ratio(1, float(m.group(3)), float(m.group(4)))
        return None if frac is None else _finite(_sign(m.group(1)) * (float(m.group(2)) + frac))
    return None


def _close(a: float, b: float) -> bool:
    """Equal within 1e-6 relative, with a 1e-12 floor for values that should be zero."""
    return abs(a - b) <= max(1e-6 * max(abs(a), abs(b)), 1e-12)


def _sign(minus: str) -> int:
    return -1 if minus else 1


def _ratio(s: int, num: float, den: float) -> Optional[float]:
    return None if den == 0 else _finite(s * (num / den))


def _finite(x: float) -> Optional[float]:
    return x if x - x == 0 else None  # False for inf and nan


# ---- LaTeX to expression tree (latex-expr.ts, SPEC.md §4) ----

MAX_SYMBOLIC_CHARS = 200
_MAX_NODES = 100
_MAX_DEPTH = 30
_FUNCTIONS = {"sin": "sin", "cos": "cos", "tan": "tan", "sec": "sec", "csc": "csc", "cot": "cot",
              "arcsin": "asin", "arccos": "acos", "arctan": "atan", "ln": "log", "log": "log",
              "exp": "exp"}
_GREEK = ["alpha", "beta", "gamma", "delta", "theta", "lambda", "mu", "phi", "sigma", "omega"]


def _by_length(names):
    return sorted(names, key=lambda n: (-len(n), n))


_COMMANDS = _by_length([*_FUNCTIONS, "frac", "sqrt", "pi", "cdot", "times", "div", *_GREEK])
_WORDS = _by_length([*_FUNCTIONS, "sqrt", "pi"])
_EXPR_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?|\.[0-9]+")
_MATCHING = {"(": ")", "[": "]", "{": "}"}
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class _NotAnExpression(Exception):
    pass


def _to_expr(s: str):
    """The tree a normalised scalar denotes (nested lists, as in latex-expr.ts), or None."""
    if _utf16_len(s) > MAX_SYMBOLIC_CHARS:
        return None
    try:
        tokens = _tokenize(s)
        parser = _Parser(tokens)
        e = parser.expr()
        return e if parser.pos == len(tokens) else None
    except _NotAnExpression:
        return None


def _variables(*exprs) -> List[str]:
    found = set()

    def walk(e):
        if e[0] == "var":
            found.add(e[1])
        elif e[0] == "neg":
            walk(e[1])
        elif e[0] == "call":
            walk(e[2])
        elif e[0] not in ("num", "const"):
            walk(e[1])
            walk(e[2])

    for e in exprs:
        walk(e)
    return sorted(found)


def _fail():
    raise _NotAnExpression()


def _is_letter(c: str) -> bool:
    return c != "" and c in _LETTERS


def _is_digit(c: str) -> bool:
    return c != "" and "0" <= c <= "9"


def _tokenize(s: str):
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if _is_digit(c) or (c == "." and _is_digit(s[i + 1:i + 2])):
            m = _EXPR_NUMBER.match(s, i)
            out.append(("num", m.group()))
            i = m.end()
        elif c == "\\":
            j = i + 1
            while _is_letter(s[j:j + 1]):
                j += 1
            run = s[i + 1:j]
            name = next((n for n in _COMMANDS if run.startswith(n)), None) or _fail()
            i += 1 + len(name)
            if name in _GREEK:
                i = _push_variable(out, name, s, i)
            else:
                out.append(_command_token(name))
        elif _is_letter(c):
            word = next((w for w in _WORDS if s.startswith(w, i)), None)
            if word:
                out.append(_command_token(word))
                i += len(word)
            elif c == "e":
                out.append(("const", "e"))
                i += 1
            else:
                i = _push_variable(out, c, s, i + 1)
        elif c in "+-*/^_":
            out.append(("op", c))
            i += 1
        elif c in "([{":
            out.append(("open", c))
            i += 1
        elif c in ")]}":
            out.append(("close", c))
            i += 1
        elif c == "|":
            out.append(("bar", ""))
            i += 1
        else:
            _fail()
    return out


def _command_token(name: str):
    if name in ("frac", "sqrt"):
        return (name, "")
    if name == "pi":
        return ("const", "pi")
    if name in ("cdot", "times"):
        return ("op", "*")
    if name == "div":
        return ("op", "/")
    return ("func", _FUNCTIONS[name])


def _push_variable(out, name: str, s: str, i: int) -> int:
    if s[i:i + 1] != "_":
        out.append(("var", name))
        return i
    if s[i + 1:i + 2] == "{":
        close = s.find("}", i + 2)
        sub = "" if close < 0 else s[i + 2:close]
        nxt = close + 1
    else:
        sub = s[i + 1:i + 2]
        nxt = i + 2
    if not re.fullmatch(r"[A-Za-z0-9]+", sub):
        _fail()
    out.append(("var", f"{name}_{sub}"))
    return nxt


def _starts_factor(t) -> bool:
    return t is not None and t[0] in ("num", "var", "const", "func", "frac", "sqrt", "open")


def _is_atom(t) -> bool:
    return t is not None and t[0] in ("num", "var", "const")


class _Parser:
    """The grammar of SPEC.md §4; every method raises _NotAnExpression on anything else."""

    def __init__(self, tokens):
        self.tokens = tokens
        self.pos = 0
        self.nodes = 0
        self.depth = 0

    def expr(self):
        left = self.term()
        while self.is_op("+") or self.is_op("-"):
            op = "add" if self.next()[1] == "+" else "sub"
            left = self.node([op, left, self.term()])
        return left

    def term(self):
        left = self.unary()
        while True:
            if self.is_op("*") or self.is_op("/"):
                op = "mul" if self.next()[1] == "*" else "div"
                left = self.node([op, left, self.unary()])
            elif _starts_factor(self.peek()):
                left = self.node(["mul", left, self.power()])
            else:
                return left

    def unary(self):
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            _fail()
        try:
            if self.is_op("-"):
                self.next()
                return self.node(["neg", self.unary()])
            if self.is_op("+"):
                self.next()
                return self.unary()
            return self.power()
        finally:
            self.depth -= 1

    def power(self):
        base = self.primary()
        if not self.is_op("^"):
            return base
        self.next()
        return self.node(["pow", base, self.unary()])

    def primary(self):
        kind, v = self.next()
        if kind in ("num", "var", "const"):
            return self.node([kind, v])
        if kind == "open":
            inner = self.expr()
            self.expect("close", _MATCHING[v])
            return inner
        if kind == "bar":
            inner = self.expr()
            self.expect("bar", "")
            return self.node(["call", "abs", inner])
        if kind == "frac":
            num = self.group("{")
            return self.node(["div", num, self.group("{")])
        if kind == "sqrt":
            if self.peek() == ("open", "["):
                self.next()
                index = self.expr()
                self.expect("close", "]")
                root = self.node(["div", self.node(["num", "1"]), index])
                return self.node(["pow", self.group(), root])
            return self.node(["call", "sqrt", self.group()])
        if kind == "func":
            return self.function_call(v)
        return _fail()

    def function_call(self, name):
        base = exponent = None
        if name == "log" and self.is_op("_"):
            self.next()
            base = self.primary()
        if self.is_op("^"):
            self.next()
            exponent = self.primary()
        t = self.peek()
        if t is not None and t[0] == "open":
            arg = self.primary()
        else:
            if not _is_atom(t):
                _fail()
            arg = self.power()
            while _is_atom(self.peek()):
                arg = self.node(["mul", arg, self.power()])
        call = self.node(["call", name, arg])
        if base is not None:
            call = self.node(["div", call, self.node(["call", "log", base])])
        return self.node(["pow", call, exponent]) if exponent is not None else call

    def group(self, open_=None):
        t = self.peek()
        if t is None or t[0] != "open" or (open_ is not None and t[1] != open_):
            _fail()
        return self.primary()

    def node(self, e):
        self.nodes += 1
        if self.nodes > _MAX_NODES:
            _fail()
        return e

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self):
        if self.pos >= len(self.tokens):
            _fail()
        self.pos += 1
        return self.tokens[self.pos - 1]

    def is_op(self, v) -> bool:
        return self.peek() == ("op", v)

    def expect(self, kind, v):
        if self.next() != (kind, v):
            _fail()


# ---- symbolic equivalence (symbolic.ts, SPEC.md §4) ----

_POINT_TABLE = [0.3183, 1.2021, -0.7391, 2.6854, -1.3247, 0.8147, -2.1753, 3.3017, 0.1357, -0.4621]
_POINTS = 5
_MAX_VARIABLES = 4


class _Budget:
    """The steps left to the symbolic comparisons of one is_equivalent (symbolic.ts's Budget),
    and the safety stop's deadline (time.monotonic) for the SymPy worker."""

    def __init__(self, steps: int, seconds: float):
        self.steps = steps
        self.deadline = time.monotonic() + seconds


def _node_count(e) -> int:
    if e[0] in ("num", "var", "const"):
        return 1
    if e[0] == "neg":
        return 1 + _node_count(e[1])
    if e[0] == "call":
        return 1 + _node_count(e[2])
    return 1 + _node_count(e[1]) + _node_count(e[2])


def _symbolic_equal(a: str, b: str, scales, budget: _Budget) -> bool:
    ea = _to_expr(a)
    eb = ea and _to_expr(b)
    if not ea or not eb:
        return False
    names = _variables(ea, eb)
    if len(names) > _MAX_VARIABLES:
        return False
    points = [{v: _POINT_TABLE[(3 * k + j) % len(_POINT_TABLE)] for j, v in enumerate(names)}
              for k in range(_POINTS)]
    cost = _POINTS * (_node_count(ea) + _node_count(eb))
    if cost > budget.steps:
        return False
    budget.steps -= cost
    if time.monotonic() > budget.deadline:
        return False
    values = grading_symbolic.evaluate([ea, eb], points, budget)
    if not values:
        return False
    va, vb = ([_defined(v) for v in row] for row in values)
    return any(_agree_at_points(va, vb, sa, sb) for sa, sb in scales)


def _defined(v) -> Optional[float]:
    """A finite real value; a complex one counts as real when its imaginary part is rounding."""
    if v is None:
        return None
    re_, im = v
    return re_ if abs(im) <= 1e-12 * max(1.0, abs(re_)) else None


def _agree_at_points(a, b, sa, sb) -> bool:
    both = 0
    for x, y in zip(a, b):
        if (x is None) != (y is None):
            return False
        if x is not None and y is not None:
            if not _close(x / sa, y / sb):
                return False
            both += 1
    return both > 0


# ---- equivalence (equivalence.ts, SPEC.md §3) ----

_WORD = re.compile(r"[A-Za-z]{2,}")


def is_equivalent(prediction: Optional[str], gold: str) -> bool:
    """Whether an extracted answer is equivalent to the gold answer (never raises, never hangs)."""
    if prediction is None:
        return False
    if _utf16_len(prediction) > MAX_ANSWER_CHARS or _utf16_len(gold) > MAX_ANSWER_CHARS:
        a = _trim(prediction)
        return a != "" and a == _trim(gold)
    a, b = normalize(prediction), normalize(gold)
    if not a or not b:
        return False
    return _same_value(a, b, 0, _Budget(SYMBOLIC_STEP_BUDGET, SYMBOLIC_TIME_LIMIT_S))


def _same_value(a: str, b: str, depth: int, budget: _Budget) -> bool:
    if a == b:
        return True
    if depth > MAX_NESTING:
        return False
    ua, ub = _split_top(a, "\\cup"), _split_top(b, "\\cup")
    if len(ua) > 1 or len(ub) > 1:
        return len(ua) == len(ub) and all(_same_value(x, y, depth + 1, budget) for x, y in zip(ua, ub))
    ka, ia, oa, ca = _shape(a)
    kb, ib, ob, cb = _shape(b)
    if ka != kb:
        return False
    if ka == "scalar":
        return _same_scalar(a, b, budget)
    if len(ia) != len(ib) or len(ia) > MAX_ITEMS:
        return False
    if ka == "tuple":
        return oa == ob and ca == cb and all(_same_value(x, y, depth + 1, budget) for x, y in zip(ia, ib))
    # Sets and bare lists are unordered: match each answer element to a distinct gold element.
    used = [False] * len(ib)
    for x in ia:
        j = next((k for k, y in enumerate(ib) if not used[k] and _same_value(x, y, depth + 1, budget)), -1)
        if j < 0:
            return False
        used[j] = True
    return True


def _shape(s: str):
    """(kind, items, open, close): `\\{a,b\\}` set, `(a,b]` tuple or interval, `a,b` list, scalar."""
    n = len(s)
    if s.startswith("\\{") and s.endswith("\\}") and n >= 4 and _closes_at_end(s, 1):
        return "set", _split_top(s[2:-2], ","), "{", "}"
    if n >= 2 and s[0] in "([" and s[-1] in ")]" and _closes_at_end(s, 0):
        items = _split_top(s[1:-1], ",")
        if len(items) > 1:
            return "tuple", items, s[0], s[-1]
    items = _split_top(s, ",")
    if len(items) > 1:
        return "list", items, "", ""
    return "scalar", [s], "", ""


def _closes_at_end(s: str, open_: int) -> bool:
    depth = 0
    for i in range(open_, len(s)):
        depth += _bracket_delta(s[i])
        if depth <= 0:
            return i == len(s) - 1
    return False


def _split_top(s: str, sep: str) -> List[str]:
    parts = []
    depth = start = 0
    i = 0
    while i < len(s):
        depth += _bracket_delta(s[i])
        if depth <= 0 and s.startswith(sep, i) and not (
                sep == "\\cup" and _is_letter(s[i + len(sep):i + len(sep) + 1])):
            parts.append(s[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(s[start:])
    return parts


def _same_scalar(a: str, b: str, budget: _Budget) -> bool:
    if a == b:
        return True
    if _WORD.fullmatch(a) and _WORD.fullmatch(b):
        return a.lower() == b.lower()
    x, px = (a[:-1], True) if a.endswith("%") else (a, False)
    y, py = (b[:-1], True) if b.endswith("%") else (b, False)
    # With a sign on both sides the numbers compare as written; with one, that side may also be
    # read divided by 100 (50% vs 0.5).
    scales = [(1, 1)] + ([(100, 1)] if px and not py else []) + ([(1, 100)] if py and not px else [])
    nx, ny = _plain_number(x), _plain_number(y)
    if nx is not None and ny is not None:
        return any(_close(nx / sx, ny / sy) for sx, sy in scales)
    return _symbolic_equal(x, y, scales, budget)


# ---- the CLI (src/cli/grade.ts, SPEC.md §5) ----

EXIT_OK, EXIT_IO, EXIT_BAD_INPUT = 0, 1, 2


class _BadLine(Exception):
    pass


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _grade_line(line: str) -> str:
    try:
        obj = json.loads(line, parse_constant=_reject_constant)
    except ValueError as err:
        raise _BadLine(f"not JSON ({err})") from None
    if not isinstance(obj, dict):
        raise _BadLine("not a JSON object")
    gold, output = obj.get("gold"), obj.get("output")
    if isinstance(gold, (int, float)) and not isinstance(gold, bool):
        gold = str(gold)
    if not isinstance(gold, str):
        raise _BadLine('"gold" must be a string or a number')
    if not isinstance(output, str):
        raise _BadLine('"output" must be a string')
    g = grade(output, gold)
    obj["extracted"] = g.final_answer
    obj["correct"] = g.correct
    out = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape: keep it escaped
        out = json.dumps(obj, separators=(",", ":"))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python3 -m gpu_runner.grading",
        description=f"Grade JSONL lines {{\"gold\", \"output\"}} ({GRADER_VERSION}); each line is "
                    "written back with \"extracted\" and \"correct\" added. A malformed line stops "
                    "the run with exit code 2.")
    p.add_argument("file", help="input JSONL, or - for stdin")
    p.add_argument("--out", help="output file (default: stdout)")
    args = p.parse_args(argv)
    try:
        src = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8", errors="replace")
        dst = sys.stdout if args.out is None else open(args.out, "w", encoding="utf-8")
    except OSError as err:
        print(f"grade: {err}", file=sys.stderr)
        return EXIT_IO
    try:
        for n, line in enumerate(src, start=1):
            if not line.strip(_WS):
                continue
            try:
                dst.write(_grade_line(line) + "\n")
            except _BadLine as err:
                dst.flush()
                print(f"grade: line {n}: {err}", file=sys.stderr)
                return EXIT_BAD_INPUT
    finally:
        dst.flush()
        if dst is not sys.stdout:
            dst.close()
        if src is not sys.stdin:
            src.close()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
