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
from concurrent.futures import ThreadPoolExecutor

from ..grading import grade
from ..teachers import ask, critique_teacher
from .common import Eta, StageContext, StageResult

MAX_FAILURES_LOGGED = 20


def run(ctx: StageContext) -> StageResult:
    cfg, rep, items = ctx.config, ctx.reporter, ctx.items

    # ---- data: every item carries the failed rollout to critique ----
    missing = [it["ordinal"] for it in items if not (it.get("trace") or {}).get("text")]
    if missing or not items:
        raise ValueError(f"CRITIQUE needs a failed rollout on every manifest item; {len(missing)} of {len(items)} "
                         f"have none (first ordinals: {missing[:5]}). Build the CRITIQUE manifest from harvested "
                         f"ROLLOUT traces.")
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
    eta, t0 = Eta(len(items)), time.monotonic()
    workers = cfg.teacher_concurrency if cfg.teacher == "openai" else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="teacher") as pool:
        for start in range(0, len(items), cfg.batch_size):
            if ctx.should_stop():
                return StageResult(cancelled=True, summary={"items": start, **counts})
            batch = items[start: start + cfg.batch_size]
            answers = pool.map(lambda it: ask(teacher.critique, it["problem"], it["answer"], it["trace"]["text"]),
                               batch)
            critiques = []
            for it, (c, why) in zip(batch, answers):
                counts["critique/harvested"] += 1
                if c is None:
                    counts["critique/teacher_failures"] += 1
                    if counts["critique/teacher_failures"] <= MAX_FAILURES_LOGGED:
                        rep.log(f"o{it['ordinal']} ({it.get('externalId')}): no critique: {why}")
                    continue
                counts["critique/written"] += 1
                verdicts[c.verdict] = verdicts.get(c.verdict, 0) + 1
                # Verified as the API does it: both the repair and the solution grade correct.
                if all(t is not None and grade(t, it["answer"]).correct for t in (c.repair, c.solution)):
                    counts["critique/verified"] += 1
                critiques.append({"sampleId": it["sampleId"], "key": f"critique-o{it['ordinal']}",
                                  "failedTraceId": it["trace"]["id"], "diagnosis": c.diagnosis,
                                  "verdict": c.verdict, "firstWrongStep": c.first_wrong_step, "repair": c.repair,
                                  "solution": c.solution, "teacher": teacher.name})
            rep.post_critiques(critiques)
            done = start + len(batch)
            rep.metric(done, counts)
            rep.progress(done, len(items), eta(done))

    failures = counts["critique/teacher_failures"]
    if failures > MAX_FAILURES_LOGGED:
        rep.log(f"{failures - MAX_FAILURES_LOGGED} more rollouts got no critique (not logged one by one)")
    if verdicts:
        rep.log("verdicts: " + ", ".join(f"{v} {n}" for v, n in sorted(verdicts.items())))
    return StageResult(summary={**counts, "time/critique": time.monotonic() - t0})
