"""RL rewards: the grader's final-answer check, or (built-in arithmetic task) a step check as well.

The final-answer reward pays for lucky reasoning: an independent check found 560 of 1,337 rewarded
rollouts reaching the right answer through wrong intermediate arithmetic, and RL reinforces it.
The `steps` reward pays only when the final answer is right AND the completion's steps replay the
problem's operations in order, each with correct arithmetic, until every operation is applied.
Steps are read as the built-in critique teacher reads them (`a+b=c.`, or `a+b-c=d.` for several
operations in one step).
"""
from __future__ import annotations

from typing import Optional

from .tasks.arithmetic import Problem, parse_problem
from .teachers.critique import split_rollout

REWARDS = ("final_answer", "steps")


def arithmetic_problem(problem_text: str, gold: str) -> Optional[Problem]:
    """The built-in task's problem behind `problem_text`, or None when it is not one (other
    wording, or a gold answer the problem does not work out to)."""
    p = parse_problem(problem_text)
    if p is None or str(p.answer) != str(gold).strip():
        return None
    return p


def steps_all_right(problem: Problem, completion: str) -> bool:
    """True when every step before "Answer" starts from the running total, applies the problem's
    next operations in order with the right result, and the steps apply all of them."""
    steps, _, _ = split_rollout(completion)
    total, done = problem.start, 0
    for s in steps:
        if s.first is None or s.first != total:
            return False
        if s.ops != problem.steps[done: done + len(s.ops)] or s.result != s.value:
            return False
        total, done = s.result, done + len(s.ops)
    return done == len(problem.steps)
