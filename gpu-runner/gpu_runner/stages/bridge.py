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
from concurrent.futures import ThreadPoolExecutor

from ..grading import grade
from ..teachers import ask, rewrite_teacher
from .common import Eta, StageContext, StageResult

MAX_FAILURES_LOGGED = 20


def run(ctx: StageContext) -> StageResult:
    cfg, rep, items = ctx.config, ctx.reporter, ctx.items

    # ---- data: every item carries the teacher trace to rewrite ----
    missing = [it["ordinal"] for it in items if not (it.get("trace") or {}).get("text")]
    if missing or not items:
        raise ValueError(f"BRIDGE needs a teacher trace on every manifest item; {len(missing)} of {len(items)} have "
                         f"none (first ordinals: {missing[:5]}). Build the BRIDGE manifest from verified TEACHER "
                         f"traces.")
    teacher = rewrite_teacher(cfg)
    rep.log(f"BRIDGE: {teacher.name} rewrites {len(items)} teacher traces")

    # ---- rewrite, grade, post: one batch at a time ----
    counts = {"bridge/rewritten": 0, "bridge/verified": 0, "bridge/rejected": 0, "bridge/teacher_failures": 0}
    eta, t0 = Eta(len(items)), time.monotonic()
    workers = cfg.teacher_concurrency if cfg.teacher == "openai" else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="teacher") as pool:
        for start in range(0, len(items), cfg.batch_size):
            if ctx.should_stop():
                return StageResult(cancelled=True, summary={"items": start, **counts})
            batch = items[start: start + cfg.batch_size]
            answers = pool.map(lambda it: ask(teacher.rewrite, it["problem"], it["answer"], it["trace"]["text"]),
                               batch)
            traces = []
            for it, (text, why) in zip(batch, answers):
                if text is None:
                    counts["bridge/teacher_failures"] += 1
                    if counts["bridge/teacher_failures"] <= MAX_FAILURES_LOGGED:
                        rep.log(f"o{it['ordinal']} ({it.get('externalId')}): no rewrite: {why}")
                    continue
                ok = grade(text, it["answer"]).correct
                counts["bridge/rewritten"] += 1
                counts["bridge/verified" if ok else "bridge/rejected"] += 1
                traces.append({"sampleId": it["sampleId"], "key": f"bridge-o{it['ordinal']}", "kind": "BRIDGED",
                               "parentTraceId": it["trace"]["id"], "text": text, "producer": teacher.name})
            rep.post_traces(traces)
            done = start + len(batch)
            rep.metric(done, counts)
            rep.progress(done, len(items), eta(done))

    failures = counts["bridge/teacher_failures"]
    if failures > MAX_FAILURES_LOGGED:
        rep.log(f"{failures - MAX_FAILURES_LOGGED} more items got no rewrite (not logged one by one)")
    return StageResult(summary={**counts, "bridge/items": len(items), "time/bridge": time.monotonic() - t0})
