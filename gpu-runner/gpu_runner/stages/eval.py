"""EVAL: greedy accuracy on held-out problems.

Reports eval/accuracy (and the counts) as one METRIC; writes one line per problem to
eval_results.jsonl in the work dir, reported as an ARTIFACT.
"""
from __future__ import annotations

import json
import os
import time

from ..disk import writing
from ..grading import GRADER_VERSION, grade
from .common import Eta, StageContext, StageResult, encode_prompt


def run(ctx: StageContext) -> StageResult:
    cfg, model, rep = ctx.config, ctx.model, ctx.reporter
    items = ctx.items
    if not items:
        raise ValueError("EVAL needs a manifest with at least one problem")
    model.module.eval()
    eta = Eta(len(items))
    results, correct = [], 0
    t0 = time.monotonic()
    for start in range(0, len(items), cfg.batch_size):
        if ctx.should_stop():
            return StageResult(cancelled=True, summary={"problems": start})
        batch = items[start: start + cfg.batch_size]
        completions = model.generate([encode_prompt(model, it["problem"]) for it in batch], cfg.max_new_tokens, 0.0)
        for it, ids in zip(batch, completions):
            text = model.decode(ids)
            g = grade(text, it["answer"])
            correct += int(g.correct)
            results.append({"ordinal": it["ordinal"], "sampleId": it["sampleId"], "externalId": it.get("externalId"),
                            "text": text, "finalAnswer": g.final_answer, "correct": g.correct})
        done = min(start + cfg.batch_size, len(items))
        rep.progress(done, len(items), eta(done))
    metrics = {"eval/accuracy": correct / len(items), "eval/correct": correct, "eval/problems": len(items),
               "time/eval": time.monotonic() - t0}
    rep.metric(len(items), metrics)
    # Which problems it solved, in the event log itself: experiments pair arms problem by problem.
    rep.artifact("eval_outcomes", None, problems=len(items),
                 correct=[r["sampleId"] for r in results if r["correct"]],
                 wrong=[r["sampleId"] for r in results if not r["correct"]])
    if cfg.write_results:
        path = os.path.abspath(os.path.join(ctx.work_dir, "eval_results.jsonl"))
        with writing("the eval results", path, lambda: _remove(path)):
            with open(path, "w") as f:
                for r in results:
                    f.write(json.dumps(r) + "\n")
        rep.artifact("eval_results", path, problems=len(items), graderVersion=GRADER_VERSION)
    return StageResult(summary=metrics)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
