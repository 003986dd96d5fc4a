"""RL: GRPO on the manifest's prompts, the grader as reward; DAPO dynamic sampling as an option.

Each step: sample G completions for each of `prompts_per_step` prompts, grade them, normalise
rewards within each group (advantages), then take `ppo_epochs` gradient steps on the clipped
surrogate (plus `kl_coef` * KL to the input checkpoint, when set). Prompts whose whole group scored
zero are harvested, never silently dropped: an ARTIFACT names them each step, and their rollouts go
to the API (post_rollouts: zero_groups) as the raw material of critique data.

Every log-probability the loss uses (old, new, reference) is of the distribution actually sampled:
logits over `temperature`, and the model in eval mode (dropout off) as during generation, so the
importance ratio is exactly 1 at the first gradient step. The reward is the grader's final-answer
check, or (`reward: steps`, built-in arithmetic task) that and a check of every step.
"""
from __future__ import annotations

import random
import time
from typing import List, NamedTuple, Optional

import torch

from ..grading import grade
from ..losses import aggregate, all_zero_groups, clipped_policy_loss, constant_groups, group_advantages, kl_k3
from ..rewards import arithmetic_problem, steps_all_right
from .common import (Eta, StageContext, StageResult, completion_logprobs, cosine_lr, encode_prompt, make_optimizer,
                     rollout_batch, rollout_record, save_and_register, with_eos)


class Group(NamedTuple):
    """One prompt's G rollouts, kept for the update."""

    item: dict
    prompt: List[int]
    completions: List[List[int]]  # G, without EOS
    rewards: torch.Tensor  # (G,)
    sampled_logp: Optional[List[List[float]]]  # G, recorded at sampling time (None: backend has none)


def run(ctx: StageContext) -> StageResult:
    cfg, model, rep = ctx.config, ctx.model, ctx.reporter
    G = cfg.group_size
    if not ctx.items:
        raise ValueError("RL needs a manifest with at least one prompt")
    prompts = [(it, encode_prompt(model, it["problem"])) for it in ctx.items]
    # The built-in task's problems, when every prompt is one: the step check needs them (reward
    # `steps`), and they let every run report how many right answers came through a wrong step.
    problems = {it["sampleId"]: arithmetic_problem(it["problem"], it["answer"]) for it in ctx.items}
    if any(p is None for p in problems.values()):
        if cfg.reward == "steps":
            bad = [str(it.get("externalId") or it["sampleId"]) for it in ctx.items if problems[it["sampleId"]] is None]
            raise ValueError(f"reward 'steps' checks the steps of the built-in arithmetic task, and {len(bad)} "
                             f"prompt(s) are not its problems (e.g. {', '.join(bad[:3])}); use reward 'final_answer'")
        problems = None
    rng = random.Random(cfg.seed)
    order, cursor = [], 0

    def next_prompts(n):
        nonlocal order, cursor
        out = []
        while len(out) < n:
            if cursor >= len(order):
                order, cursor = list(range(len(prompts))), 0
                rng.shuffle(order)
            out.append(prompts[order[cursor]])
            cursor += 1
        return out

    # The reference policy is a frozen copy of the input checkpoint, kept only when KL is on.
    ref = model.frozen_copy() if cfg.kl_coef > 0 else None
    module = model.module
    opt = make_optimizer(module, cfg.lr, cfg.weight_decay)
    warmup = min(cfg.warmup_steps, cfg.steps)
    # Sampling-time log-probs, where the backend records them: a live check of the loss's forward pass.
    sample = getattr(model, "generate_with_logprobs", None)
    eta = Eta(cfg.steps)
    harvested = {}  # sampleId -> externalId, every prompt whose whole group scored zero
    totals = {"rollouts": 0, "correct": 0}

    # Tokens through the model (experiments' compute budget): generated tokens count 1,
    # forward-only scoring (old policy, reference) 1/3 a token, forward+backward 1.
    compute_tokens = 0.0
    for step in range(1, cfg.steps + 1):
        if ctx.should_stop():
            return StageResult(cancelled=True, summary={"step": step - 1, **totals})
        # ---- 1. rollouts: G completions per prompt, graded ----
        t0 = time.monotonic()
        kept: List[Group] = []
        zero_items, to_post = [], []
        n_sampled = n_correct = n_wrong_steps = groups_seen = 0
        reward_sum = 0.0
        for rnd in range(cfg.max_sampling_rounds if cfg.dynamic_sampling else 1):
            need = cfg.prompts_per_step - len(kept)
            if need <= 0:
                break
            batch = next_prompts(need)
            rows = [p for _, p in batch for _ in range(G)]
            if sample is not None:
                completions, sampled_logp = sample(rows, cfg.max_new_tokens, cfg.temperature)  # (need * G)
            else:
                completions, sampled_logp = model.generate(rows, cfg.max_new_tokens, cfg.temperature), None
            compute_tokens += sum(len(c) for c in completions)
            rewards = torch.zeros(len(batch), G)
            texts = []
            for i, (it, _) in enumerate(batch):
                for j in range(G):
                    ids = completions[i * G + j]
                    text = model.decode(ids)
                    g = grade(text, it["answer"])
                    steps_ok = problems is not None and g.correct and steps_all_right(problems[it["sampleId"]], text)
                    if cfg.reward == "steps":
                        g = g._replace(reward=float(steps_ok))
                    rewards[i, j] = g.reward
                    n_correct += int(g.correct)
                    n_wrong_steps += int(g.correct and not steps_ok)
                    reward_sum += g.reward
                    texts.append((text, g, len(ids)))
            n_sampled += len(batch) * G
            groups_seen += len(batch)
            zero = all_zero_groups(rewards)  # (n,)
            flat = constant_groups(rewards)  # (n,)
            for i, (it, p) in enumerate(batch):
                records = [rollout_record(it, f"rl-s{step}-r{rnd}-p{i}-g{j}", *texts[i * G + j]) for j in range(G)]
                if bool(zero[i]):
                    zero_items.append(it)
                    harvested[it["sampleId"]] = it.get("externalId")
                if cfg.post_rollouts == "all" or (cfg.post_rollouts == "zero_groups" and bool(zero[i])):
                    to_post.extend(records)
                if not (cfg.dynamic_sampling and bool(flat[i])):
                    kept.append(Group(it, p, completions[i * G:(i + 1) * G], rewards[i],
                                      sampled_logp[i * G:(i + 1) * G] if sampled_logp is not None else None))
        kept = kept[: cfg.prompts_per_step]
        if to_post:
            rep.post_rollouts(to_post)
        t_gen = time.monotonic() - t0
        totals["rollouts"] += n_sampled
        totals["correct"] += n_correct

        # ---- 2. policy update on the kept groups ----
        t1 = time.monotonic()
        lr = cosine_lr(step, cfg.steps, cfg.lr, warmup, 1.0)  # min ratio 1: linear warmup, then constant
        for group in opt.param_groups:
            group["lr"] = lr
        stats = {"loss": 0.0, "kl": 0.0, "clip_frac": 0.0, "ratio_mean": 1.0, "grad_norm": 0.0}
        logp_gap = None
        if kept:
            rewards = torch.stack([grp.rewards for grp in kept])  # (N, G)
            adv = group_advantages(rewards, scale=cfg.scale_rewards).reshape(-1).to(model.device)  # (N * G,)
            seq_prompts = [grp.prompt for grp in kept for _ in range(G)]
            seq_completions = [with_eos(c, model.eos_id, cfg.max_new_tokens) for grp in kept for c in grp.completions]
            batch = rollout_batch(seq_prompts, seq_completions, model.pad_id, model.device)
            seq_tokens = sum(len(p) + len(c) for p, c in zip(seq_prompts, seq_completions))
            compute_tokens += seq_tokens * ((2 if ref is not None else 1) / 3 + cfg.ppo_epochs)
            T = cfg.temperature
            # Eval mode, as generation ran: with dropout on, old and new log-probs would differ
            # from the sampling policy's and from each other, and the ratio would not start at 1.
            module.eval()
            with torch.no_grad():
                old_logp = completion_logprobs(model, batch, T)  # (B, C)
                ref_logp = completion_logprobs(ref, batch, T) if ref is not None else None
            if all(grp.sampled_logp is not None for grp in kept):
                sampled = torch.zeros_like(old_logp)  # (B, C)
                for b, row in enumerate(lp for grp in kept for lp in grp.sampled_logp):
                    sampled[b, : len(row)] = torch.tensor(row, dtype=sampled.dtype)
                logp_gap = float(((sampled - old_logp).abs() * batch.completion_mask).max())
            grad_norms = []
            for _ in range(cfg.ppo_epochs):
                logp = completion_logprobs(model, batch, T)  # (B, C)
                loss, s = clipped_policy_loss(logp, old_logp, adv, batch.completion_mask, cfg.clip_eps_low,
                                              cfg.clip_eps_high, cfg.loss_agg)
                if ref is not None:
                    kl = aggregate(kl_k3(logp, ref_logp), batch.completion_mask, cfg.loss_agg)
                    loss = loss + cfg.kl_coef * kl
                    stats["kl"] = float(kl.detach())
                opt.zero_grad(set_to_none=True)
                loss.backward()
                # The norm before clipping: how hard this batch pulls, whether or not the clip bites.
                grad_norm = torch.nn.utils.clip_grad_norm_(module.parameters(),
                                                           cfg.grad_clip if cfg.grad_clip > 0 else float("inf"))
                grad_norms.append(float(grad_norm))
                # A non-finite loss or gradient would poison every weight: skip that update, count it.
                if torch.isfinite(loss.detach()) and torch.isfinite(grad_norm):
                    opt.step()
                else:
                    stats["skipped_updates"] = stats.get("skipped_updates", 0.0) + 1.0
                stats.update(s, loss=float(loss.detach()))
            stats["grad_norm"] = sum(grad_norms) / len(grad_norms)
            mean_len = float(batch.completion_mask.sum(1).mean())
        else:
            mean_len = 0.0
        t_upd = time.monotonic() - t1

        # ---- 3. report ----
        if zero_items:
            rep.artifact("zero_reward_groups", None, step=step, groupSize=G,
                         samples=[{"sampleId": it["sampleId"], "externalId": it.get("externalId")} for it in zero_items])
        if step % cfg.log_every == 0 or step == cfg.steps or zero_items:
            metrics = {
                # the reward the update used (reward config) vs the final-answer check's pass rate
                "train/reward_mean": reward_sum / max(1, n_sampled),
                "train/accuracy": n_correct / max(1, n_sampled),
                "train/zero_group_frac": len(zero_items) / max(1, groups_seen),
                "train/kept_groups": len(kept),
                "train/loss": stats["loss"],
                "train/kl": stats["kl"],
                "train/clip_frac": stats["clip_frac"],
                "train/ratio_mean": stats["ratio_mean"],
                "train/grad_norm": stats["grad_norm"],
                "train/lr": lr,
                "train/skipped_updates": stats.get("skipped_updates", 0.0),
                "train/completion_len": mean_len,
                "time/generate": t_gen,
                "time/update": t_upd,
                "compute/tokens": compute_tokens,
            }
            if problems is not None:  # of the right final answers, the share reached through a wrong step
                metrics["train/wrong_steps_frac"] = n_wrong_steps / max(1, n_correct)
            if logp_gap is not None:
                metrics["train/logp_gap"] = logp_gap
            rep.metric(step, metrics)
        if step % cfg.log_every == 0 or step == cfg.steps:
            rep.progress(step, cfg.steps, eta(step))

    summary = {"steps": cfg.steps, "accuracy": totals["correct"] / max(1, totals["rollouts"]),
               "harvested_prompts": len(harvested), **totals}
    rep.artifact("harvested_prompts", None, count=len(harvested),
                 samples=[{"sampleId": k, "externalId": v} for k, v in harvested.items()])
    summary["checkpoint"] = save_and_register(ctx, cfg.checkpoint_name, cfg.steps, cfg.save_onnx,
                                              {"accuracy": summary["accuracy"], "harvested": len(harvested)})
    return StageResult(summary=summary)
