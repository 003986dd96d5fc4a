"""The built-in critique teacher: finds the first wrong step of a failed arithmetic rollout.

A rollout of the built-in task is a chain of steps "a+b=c." (explicit style) or "a+b-c=d." (raw
style, several operations in one step), then "Answer: N". The teacher parses the problem back
(tasks.arithmetic.parse_problem), then replays the rollout against it: each step must start from
the running total (the problem's start for the first), apply the problem's next operations in
order, and get the arithmetic right. The first step that does not is the verdict WRONG_STEP; when
every step holds, the final answer decides: NO_ANSWER, WRONG_FINAL_ANSWER or CORRECT.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from ..tasks.arithmetic import explicit_trace, parse_problem
from . import Critique

_ANSWER_MARK = re.compile(r"answer", re.IGNORECASE)
_ANSWER_NUMBER = re.compile(r"answer\s*(?:is)?\s*[:=]?\s*(-?\d+)", re.IGNORECASE)
_STEP = re.compile(r"(\d+)((?:[+-]\d+)+)=(-?\d+)")
_OP = re.compile(r"([+-])(\d+)")

Op = Tuple[str, int]


@dataclass(frozen=True)
class Step:
    text: str  # as the rollout wrote it, stripped
    first: Optional[int] = None  # None: not a calculation at all
    ops: Tuple[Op, ...] = ()
    result: Optional[int] = None

    @property
    def value(self) -> int:
        return _apply(self.first, self.ops)


def _apply(total: int, ops: Sequence[Op]) -> int:
    for op, x in ops:
        total = total + x if op == "+" else total - x
    return total


def _said(op: Op) -> str:
    return f"{'add' if op[0] == '+' else 'subtract'} {op[1]}"


def _calc(first: int, ops: Sequence[Op], result: int) -> str:
    return f"{first}{''.join(f'{op}{x}' for op, x in ops)}={result}"


def _explicit_steps(total: int, ops: Sequence[Op]) -> List[str]:
    out = []
    for op in ops:
        new = _apply(total, [op])
        out.append(_calc(total, [op], new) + ".")
        total = new
    return out


def _repair(kept: List[str], total: int, rest: Sequence[Op], gold: int) -> str:
    """The rollout's correct steps, then the right ones from `total` on, then the answer."""
    return " ".join(kept + _explicit_steps(total, rest) + [f"Answer: {gold}"])


def split_rollout(text: str) -> Tuple[List[Step], bool, Optional[int]]:
    """(steps before the first "Answer", whether an "Answer" is written, the number of the last
    "Answer: N" or None). Steps are the sentences (ended by "." or a new line) before it."""
    mark = _ANSWER_MARK.search(text)
    body = text[: mark.start()] if mark else text
    answers = _ANSWER_NUMBER.findall(text)
    steps = []
    for piece in re.split(r"[.\n]+", body):
        piece = piece.strip()
        if not piece:
            continue
        m = _STEP.fullmatch(re.sub(r"\s+", "", piece))
        if m:
            ops = tuple((op, int(x)) for op, x in _OP.findall(m.group(2)))
            steps.append(Step(piece, int(m.group(1)), ops, int(m.group(3))))
        else:
            steps.append(Step(piece))
    return steps, mark is not None, int(answers[-1]) if answers else None


class BuiltinCritiqueTeacher:
    name = "builtin-critique"

    def critique(self, problem: str, answer: str, rollout: str) -> Optional[Critique]:
        """The critique of `rollout`, or None when the problem cannot be parsed or its gold answer
        is not what the problem works out to (nothing trustworthy to critique against)."""
        p = parse_problem(problem)
        try:
            gold = int(str(answer).strip())
        except ValueError:
            return None
        if p is None or p.answer != gold:
            return None
        ops, n = p.steps, len(p.steps)
        steps, answer_marked, final = split_rollout(rollout)
        solution = explicit_trace(p)
        total, done = p.start, 0  # the running total and how many operations the good steps did
        kept: List[str] = []  # the correct steps, in canonical form
        for k, s in enumerate(steps, start=1):
            wrong = self._wrong_step(s, k, total, done, ops)
            if wrong is not None:
                why, should = wrong
                said = f"Step {k} says '{s.text}'"
                fix = f"It should say '{should}'" if should else "It should stop here and answer"
                diagnosis = f"{said}, but {why}. {fix}; every step after it builds on the mistake."
                return Critique(diagnosis, "WRONG_STEP", k, _repair(kept, total, ops[done:], gold), solution)
            kept.append(_calc(s.first, s.ops, s.result) + ".")
            total, done = s.result, done + len(s.ops)

        repair = _repair(kept, total, ops[done:], gold)
        if not steps:
            reached = "The rollout has no steps."
        elif done < n:
            left = ", ".join(f"'{op}{x}'" for op, x in ops[done:])
            reached = (f"Every step is right, but the rollout stops after {done} of the problem's {n} operations, "
                       f"at {total} ({left} {'is' if n - done == 1 else 'are'} never applied).")
        else:
            reached = f"Every step is right, ending at {total}."
        if final is None:
            how = "writes 'Answer' with no number after it" if answer_marked else "never states a final answer"
            diagnosis = f"{reached} The rollout {how}; it should end with 'Answer: {gold}'."
            return Critique(diagnosis, "NO_ANSWER", None, repair, solution)
        if final != gold:
            diagnosis = f"{reached} The final answer says {final}; it should be 'Answer: {gold}'."
            return Critique(diagnosis, "WRONG_FINAL_ANSWER", None, repair, solution)
        diagnosis = f"{reached} The final answer {final} is correct."
        return Critique(diagnosis, "CORRECT", None, repair, solution)

    @staticmethod
    def _wrong_step(s: Step, k: int, total: int, done: int, ops: Sequence[Op]) -> Optional[Tuple[str, str]]:
        """(why step k is wrong, what it should say: "" when it should not be there), or None."""
        n = len(ops)
        right = _calc(total, ops[done:done + 1], _apply(total, ops[done:done + 1])) if done < n else ""
        if s.first is None:
            return "that is not a calculation of the form a+b=c", right
        if done >= n:
            return f"the problem's {n} operations were all done by then (the total is {total})", ""
        if s.first != total:
            before = "the problem starts with" if k == 1 else f"the running total after step {k - 1} is"
            return f"it starts from {s.first} while {before} {total}", right
        for j, op in enumerate(s.ops):
            if done + j >= n:
                return f"it applies '{op[0]}{op[1]}' but the problem has only {n} operations", right
            want = ops[done + j]
            if op != want:
                if op in ops[done + j + 1:]:
                    why = f"it skips the problem's next operation, {_said(want)}, and goes on to {_said(op)}"
                else:
                    why = f"it does {_said(op)} where the problem says {_said(want)}"
                return why, right
        if s.result != s.value:
            return f"{_calc(s.first, s.ops, s.value)}: the arithmetic is wrong", _calc(s.first, s.ops, s.value)
        return None
