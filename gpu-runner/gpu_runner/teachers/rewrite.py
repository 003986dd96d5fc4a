"""The built-in rewrite teacher: a raw arithmetic trace -> one explicit step per operation.

"12+7-5=14. Answer: 14" becomes "12+7=19. 19-5=14. Answer: 14". It works from the problem text
(parsed back with tasks.arithmetic.parse_problem), so the rewrite is right whatever the source
trace's style; text that is not one of the built-in problems is refused.
"""
from __future__ import annotations

from typing import Optional

from ..tasks.arithmetic import explicit_trace, parse_problem


class BuiltinRewriteTeacher:
    name = "builtin-rewrite"

    def rewrite(self, problem: str, answer: str, trace: str) -> Optional[str]:
        """The explicit trace of `problem`, or None when the problem text cannot be parsed."""
        p = parse_problem(problem)
        return None if p is None else explicit_trace(p)
