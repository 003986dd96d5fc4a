"""LaTeX to expression tree (latex-expr.ts, SPEC.md §4): one tokenizer and one recursive-descent
parser, the same as toExpr in latex-expr.ts, so that SymPy here and mathjs there evaluate the same
tree. The tree is nested lists (`["add", a, b]`), the JSON the SymPy worker reads."""
from __future__ import annotations

import re
from typing import List

from .text import is_letter, utf16_len

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


class _NotAnExpression(Exception):
    pass


def to_expr(s: str):
    """The tree a normalised scalar denotes (nested lists, as in latex-expr.ts), or None."""
    if utf16_len(s) > MAX_SYMBOLIC_CHARS:
        return None
    try:
        tokens = _tokenize(s)
        parser = _Parser(tokens)
        e = parser.expr()
        return e if parser.pos == len(tokens) else None
    except _NotAnExpression:
        return None


def variables(*exprs) -> List[str]:
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
            while is_letter(s[j:j + 1]):
                j += 1
            run = s[i + 1:j]
            name = next((n for n in _COMMANDS if run.startswith(n)), None) or _fail()
            i += 1 + len(name)
            if name in _GREEK:
                i = _push_variable(out, name, s, i)
            else:
                out.append(_command_token(name))
        elif is_letter(c):
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


