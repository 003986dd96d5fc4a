"""CRITIQUE: a teacher critiques each failed rollout of the student.

Each manifest item's `trace` is a failed ROLLOUT of the student (graded wrong). The teacher (config
`teacher`: the built-in critique teacher, or a model behind an OpenAI-compatible endpoint) writes a
diagnosis (where the rollout first goes wrong, and why), a verdict, the first wrong step, a repair
(the rollout's correct steps, then a corrected continuation) and a new full solution. Each goes to
POST /critiques (key `critique-o<ordinal>`); the API stores the repair and the solution as traces
whose parent is the failed rollout, grades both, and marks the critique verified when both are
correct. The runner grades them too and reports critique/harvested, critique/written,
critique/verified, critique/teacher_failures per batch. No model is loaded.
"""
from __future__ import annotations

import time

from ..grading import grade
from ..teachers import critique_teacher
from .common import StageContext, StageResult
from .teaching import require_traces, teach_in_batches


def run(ctx: StageContext) -> StageResult:
    cfg, rep, items = ctx.config, ctx.reporter, ctx.items
    require_traces(items, "CRITIQUE", "a failed rollout",
                   "Build the CRITIQUE manifest from harvested ROLLOUT traces.")
    other = [(it["ordinal"], it["trace"]["kind"]) for it in items
             if (it["trace"].get("kind") or "ROLLOUT") != "ROLLOUT"]
    if other:
        raise ValueError(f"CRITIQUE critiques the student's ROLLOUT traces; {len(other)} items carry another kind "
                         f"(first: ordinal {other[0][0]}, {other[0][1]})")
    teacher = critique_teacher(cfg)
    rep.log(f"CRITIQUE: {teacher.name} critiques {len(items)} failed rollouts")

    # ---- critique, grade the repair and the solution, post: one batch at a time ----
    counts = {"critique/harvested": 0, "critique/written": 0, "critique/verified": 0, "critique/teacher_failures": 0}
    verdicts = {}
    t0 = time.monotonic()

    def critiqued(it: dict, c) -> dict:
        counts["critique/written"] += 1
        verdicts[c.verdict] = verdicts.get(c.verdict, 0) + 1
        # Verified as the API does it: both the repair and the solution grade correct.
        if all(t is not None and grade(t, it["answer"]).correct for t in (c.repair, c.solution)):
            counts["critique/verified"] += 1
        return {"sampleId": it["sampleId"], "key": f"critique-o{it['ordinal']}", "failedTraceId": it["trace"]["id"],
                "diagnosis": c.diagnosis, "verdict": c.verdict, "firstWrongStep": c.first_wrong_step,
                "repair": c.repair, "solution": c.solution, "teacher": teacher.name}

    cancelled = teach_in_batches(ctx, teacher.critique, counts, failure_key="critique/teacher_failures",
                                 failure_note="no critique", failures_unlogged="rollouts got no critique",
                                 handle=critiqued, post=rep.post_critiques, seen_key="critique/harvested")
    if cancelled:
        return cancelled
    if verdicts:
        rep.log("verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items())))
    return StageResult(summary={**counts, "time/critique": time.monotonic() - t0})
