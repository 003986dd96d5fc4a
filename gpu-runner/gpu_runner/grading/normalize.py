"""Normalisation (normalize.ts, SPEC.md §2): the rewrites that make `$\\dfrac{1}{2}$`, `\\frac12`
and `1/2`, or `5\\text{ cm}` and `5`, compare equal as strings before any number or symbolic
comparison. The steps run in the spec's order, numbered as in normalize.ts."""
from __future__ import annotations

import re

from .text import matching_brace, strip_trailing_dots, trim_ws

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
    s = strip_trailing_dots(trim_ws(s))
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
    s = strip_trailing_dots(re.sub(r"[ \t\n\r\f\v]+", "", s))
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
        if matching_brace(s, open_) != len(s) - 1:
            return s
        s = trim_ws(s[open_ + 1:-1])
