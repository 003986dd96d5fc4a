"""SFT: supervised fine-tuning on (problem, trace) pairs of the manifest.

Loss: next-token cross-entropy with weight 1 on the trace (completion) and `prompt_loss_weight`
on the problem (0.5 learned the arithmetic task fastest; 0 = completion-only loss, as TRL's
completion_only_loss). A hint-bridged item (`trace.hint`: the start of a verified teacher trace)
puts the hint after the problem, in the prompt; its trace text is the rest, what is learned.
Reports train/loss, train/tokens_per_s, train/lr, train/grad_norm every
`log_every` steps, saves and registers the checkpoint (with its ONNX export) at the end.
"""
from __future__ import annotations

import math
import random
import time

import torch

from ..losses import weighted_lm_loss
from .common import (Eta, StageContext, StageResult, cosine_lr, encode_completion, encode_prompt,
                     make_optimizer, save_and_register, sft_batch)


def run(ctx: StageContext) -> StageResult:
    cfg, model, rep = ctx.config, ctx.model, ctx.reporter

    # ---- data: every manifest item needs a trace; truncate to max_seq_len ----
    missing = [it["ordinal"] for it in ctx.items if not it.get("trace")]
    if missing or not ctx.items:
        raise ValueError(f"SFT needs a trace on every manifest item; {len(missing)} of {len(ctx.items)} have none "
                         f"(first ordinals: {missing[:5]}). Build the SFT manifest from traces, not prompts only.")
    examples = []
    for it in ctx.items:
        p = encode_prompt(model, it["problem"], it["trace"].get("hint"))  # a hint is prompt, not target
        c = encode_completion(model, it["trace"]["text"])
        if len(p) + len(c) > cfg.max_seq_len:  # keep the completion; cut the prompt's start
            p = p[-max(2, cfg.max_seq_len - len(c)):]
            c = c[: cfg.max_seq_len - len(p)]
        examples.append((p, c))
    rng = random.Random(cfg.seed)
    order, cursor = [], 0

    def next_batch():
        nonlocal order, cursor
        batch = []
        while len(batch) < cfg.batch_size:
            if cursor >= len(order):  # a new epoch: reshuffle
                order, cursor = list(range(len(examples))), 0
                rng.shuffle(order)
            batch.append(examples[order[cursor]])
            cursor += 1
        return batch

    # ---- training loop: `steps`, or as many as `epochs` passes over the data take ----
    total = cfg.steps
    if cfg.epochs is not None:
        total = max(1, min(cfg.steps, math.ceil(cfg.epochs * len(examples) / cfg.batch_size)))
    module = model.module
    module.train()
    opt = make_optimizer(module, cfg.lr, cfg.weight_decay)
    eta = Eta(total)
    t_log, tokens, loss_sum, n_loss, grad_norm = time.monotonic(), 0, 0.0, 0, 0.0
    tokens_total, t_start = 0, time.monotonic()
    for step in range(1, total + 1):
        if ctx.should_stop():
            return StageResult(cancelled=True, summary={"step": step - 1})
        lr = cosine_lr(step, total, cfg.lr, min(cfg.warmup_steps, total), cfg.min_lr_ratio)
        for g in opt.param_groups:
            g["lr"] = lr
        inputs, targets, weights = sft_batch(next_batch(), model.pad_id, cfg.prompt_loss_weight, model.device)
        logits = model.logits(inputs)  # (B, T, V); right padding only, so no attention mask needed
        loss = weighted_lm_loss(logits, targets, weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            grad_norm = float(torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip))
        opt.step()

        n_tok = int((inputs != model.pad_id).sum())
        tokens += n_tok
        tokens_total += n_tok
        loss_sum += float(loss.detach())
        n_loss += 1
        if step % cfg.log_every == 0 or step == total:
            dt = time.monotonic() - t_log
            rep.metric(step, {"train/loss": loss_sum / n_loss, "train/tokens_per_s": tokens / max(dt, 1e-9),
                              "train/lr": lr, "train/grad_norm": grad_norm, "time/step": dt / n_loss,
                              # forward+backward tokens so far: what experiments budget compute in
                              "compute/tokens": tokens_total})
            rep.progress(step, total, eta(step))
            t_log, tokens, loss_sum, n_loss = time.monotonic(), 0, 0.0, 0

    elapsed = time.monotonic() - t_start
    summary = {"steps": total, "tokens": tokens_total, "tokens_per_s": tokens_total / max(elapsed, 1e-9),
               "seconds": elapsed}
    summary["checkpoint"] = save_and_register(ctx, cfg.checkpoint_name, total, cfg.save_onnx,
                                              {"examples": len(examples), "tokens_per_s": summary["tokens_per_s"]})
    return StageResult(summary=summary)
