"""BRIDGE (rewrite): a teacher rewrites verified teacher traces into short, explicit steps.

Each manifest item's `trace` is the verified TEACHER trace to rewrite. The teacher (config
`teacher`: the built-in rewrite teacher, or a model behind an OpenAI-compatible endpoint) writes
one rewrite per item; every rewrite goes to POST /traces as a BRIDGED trace (key
`bridge-o<ordinal>`, parent = the item's trace, producer = the teacher's name). The API grades each
against the gold answer and keeps a wrong one as correct=false; the runner grades them too and
reports bridge/rewritten, bridge/verified, bridge/rejected, bridge/teacher_failures per batch.
No model is loaded.
"""
from __future__ import annotations

import time

from ..grading import grade
from ..teachers import rewrite_teacher
from .common import StageContext, StageResult
from .teaching import require_traces, teach_in_batches


def run(ctx: StageContext) -> StageResult:
    cfg, rep, items = ctx.config, ctx.reporter, ctx.items
    require_traces(items, "BRIDGE", "a teacher trace", "Build the BRIDGE manifest from verified TEACHER traces.")
    teacher = rewrite_teacher(cfg)
    rep.log(f"BRIDGE: {teacher.name} rewrites {len(items)} teacher traces")

    # ---- rewrite, grade, post: one batch at a time ----
    counts = {"bridge/rewritten": 0, "bridge/verified": 0, "bridge/rejected": 0, "bridge/teacher_failures": 0}
    t0 = time.monotonic()

    def bridged(it: dict, text: str) -> dict:
        ok = grade(text, it["answer"]).correct
        counts["bridge/rewritten"] += 1
        counts["bridge/verified" if ok else "bridge/rejected"] += 1
        return {"sampleId": it["sampleId"], "key": f"bridge-o{it['ordinal']}", "kind": "BRIDGED",
                "parentTraceId": it["trace"]["id"], "text": text, "producer": teacher.name}

    cancelled = teach_in_batches(ctx, teacher.rewrite, counts, failure_key="bridge/teacher_failures",
                                 failure_note="no rewrite", failures_unlogged="items got no rewrite",
                                 handle=bridged, post=rep.post_traces)
    if cancelled:
        return cancelled
    return StageResult(summary={**counts, "bridge/items": len(items), "time/bridge": time.monotonic() - t0})
