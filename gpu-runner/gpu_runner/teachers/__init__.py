"""Teachers: who writes BRIDGE rewrites and CRITIQUE critiques.

Two kinds, picked by a stage config's `teacher`:
- `builtin`: programs for the built-in arithmetic task (rewrite.py, critique.py); nothing to call.
- `openai`: any OpenAI-compatible chat-completions endpoint (openai_compat.py), for real data.

A teacher either answers, refuses (None: it cannot handle this item), or raises TeacherError (the
call failed for good: retries spent, or an answer that does not parse). The stage counts refusals
and TeacherErrors alike as `teacher_failures` and goes on; a TeacherFatalError (the endpoint says
the key, model or URL is wrong) fails the run, since every other item would fail the same way.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Tuple

PLACEHOLDERS = ("problem", "trace", "answer", "rollout")
_PLACEHOLDER = re.compile(r"\{(" + "|".join(PLACEHOLDERS) + r")\}")
VERDICTS = ("WRONG_STEP", "WRONG_FINAL_ANSWER", "NO_ANSWER", "CORRECT")


class TeacherError(Exception):
    """One item's teacher call failed for good; the stage counts it and goes on."""


class TeacherFatalError(TeacherError):
    """The teacher cannot work at all (refused key, unknown model, wrong URL): fail the run."""


@dataclass(frozen=True)
class Critique:
    """A teacher's critique of one failed rollout (the body of POST /critiques, less the ids).

    `first_wrong_step` counts the rollout's steps from 1; None when no step is wrong (the final
    answer is wrong or missing, or the rollout is right after all). `repair` keeps the rollout's
    correct steps and continues correctly to the final answer; `solution` is a new full solution.
    """

    diagnosis: str
    verdict: str
    first_wrong_step: Optional[int]
    repair: Optional[str]
    solution: Optional[str]


def fill_prompt(template: str, **values: str) -> str:
    """`{problem}`, `{trace}`, `{answer}`, `{rollout}` replaced in `template`, in one pass (a problem
    that contains "{trace}" stays as it is). Not str.format: a template that asks for JSON has
    braces of its own."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def ask(call: Callable[..., Any], *args) -> Tuple[Any, Optional[str]]:
    """(answer, None), or (None, why) for a refusal or a TeacherError. TeacherFatalError and any
    other exception propagate: they are not this item's problem."""
    try:
        out = call(*args)
    except TeacherFatalError:
        raise
    except TeacherError as e:
        return None, str(e)
    return (out, None) if out is not None else (None, "refused: not a problem this teacher can handle")


def rewrite_teacher(cfg):
    """The BRIDGE teacher of a BridgeConfig: `.name` and `.rewrite(problem, answer, trace)`."""
    if cfg.teacher == "openai":
        from .openai_compat import OpenAIRewriteTeacher

        return OpenAIRewriteTeacher.from_config(cfg)
    from .rewrite import BuiltinRewriteTeacher

    return BuiltinRewriteTeacher()


def critique_teacher(cfg):
    """The CRITIQUE teacher of a CritiqueConfig: `.name` and `.critique(problem, answer, rollout)`."""
    if cfg.teacher == "openai":
        from .openai_compat import OpenAICritiqueTeacher

        return OpenAICritiqueTeacher.from_config(cfg)
    from .critique import BuiltinCritiqueTeacher

    return BuiltinCritiqueTeacher()
