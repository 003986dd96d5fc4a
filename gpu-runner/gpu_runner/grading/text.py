"""String helpers shared by the grading rules (text.ts, SPEC.md). They strip exactly the ASCII
whitespace the spec names, as text.ts does instead of JavaScript's Unicode-aware trim."""
from __future__ import annotations

WS = " \t\n\r\f\v"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def trim_ws(s: str) -> str:
    return s.strip(WS)


def strip_trailing_dots(s: str) -> str:
    """Strips trailing `.` and whitespace ("42." is "42")."""
    return s.rstrip(WS + ".")


def matching_brace(s: str, open_: int) -> int:
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


def bracket_delta(c: str) -> int:
    """+1 for `( [ {`, -1 for `) ] }`, 0 otherwise."""
    return 1 if c in "([{" else -1 if c in ")]}" else 0


def utf16_len(s: str) -> int:
    """The spec measures lengths in UTF-16 units, as JavaScript does."""
    return len(s) if s.isascii() else len(s.encode("utf-16-le", "surrogatepass")) // 2


def is_letter(c: str) -> bool:
    """An ASCII letter (the spec's `[A-Za-z]`); False for the empty string past the end."""
    return c != "" and c in _LETTERS
