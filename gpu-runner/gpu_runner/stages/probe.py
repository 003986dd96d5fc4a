"""PROBE: k sampled answers per problem from the current student; the API turns them into pass rates.

Every answer goes to POST /rollouts (key `o<ordinal>-k<j>`, idempotent), graded here too so that
the run reports probe/pass_at_1 and how many problems are never / partly / always solved.
"""
from __future__ import annotations

import time

from ..grading import grade
from .common import Eta, StageContext, StageResult, encode_prompt, rollout_record


def run(ctx: StageContext) -> StageResult:
    cfg, model, rep = ctx.config, ctx.model, ctx.reporter
    items = ctx.items
    if not items:
        raise ValueError("PROBE needs a manifest with at least one problem")
    model.module.eval()
    eta = Eta(len(items))
    pending, n_correct, n_total = [], 0, 0
    generated, prompt_tokens = 0, 0  # tokens through the model, for the compute budget
    solved = {"never": 0, "partly": 0, "always": 0}
    t0 = time.monotonic()
    for start in range(0, len(items), cfg.batch_size):
        if ctx.should_stop():
            rep.post_rollouts(pending)  # what was sampled is still worth keeping
            return StageResult(cancelled=True, summary={"problems": start})
        batch = items[start: start + cfg.batch_size]
        prompts = [encode_prompt(model, it["problem"]) for it in batch for _ in range(cfg.k)]  # (n * k)
        completions = model.generate(prompts, cfg.max_new_tokens, cfg.temperature)
        generated += sum(len(c) for c in completions)
        prompt_tokens += sum(len(p) for p in prompts)
        for i, it in enumerate(batch):
            hits = 0
            for j in range(cfg.k):
                ids = completions[i * cfg.k + j]
                text = model.decode(ids)
                g = grade(text, it["answer"])
                hits += int(g.correct)
                pending.append(rollout_record(it, f"o{it['ordinal']}-k{j}", text, g, len(ids)))
            n_correct += hits
            n_total += cfg.k
            solved["never" if hits == 0 else "always" if hits == cfg.k else "partly"] += 1
        if len(pending) >= cfg.rollout_batch:
            rep.post_rollouts(pending)
            pending = []
        done = min(start + cfg.batch_size, len(items))
        rep.progress(done, len(items), eta(done))
    rep.post_rollouts(pending)
    n = len(items)
    metrics = {
        "probe/pass_at_1": n_correct / n_total,
        "probe/never_frac": solved["never"] / n,
        "probe/partly_frac": solved["partly"] / n,
        "probe/always_frac": solved["always"] / n,
        "probe/problems": n,
        "probe/rollouts": n_total,
        "probe/mean_completion_tokens": generated / n_total,
        # As RL counts it: generated tokens at 1, the prompts' forward-only pass at 1/3.
        "compute/tokens": generated + prompt_tokens / 3,
        "time/probe": time.monotonic() - t0,
    }
    rep.metric(n, metrics)
    return StageResult(summary=metrics)
