"""The maths of the stages as small pure tensor functions (pinned by tests/test_losses_on_cpu.py).

Shapes: B sequences, T tokens, V vocabulary, N prompts, G completions per prompt (B = N * G).
Masks are float or bool tensors, 1 where a token counts.
"""
from __future__ import annotations

from typing import Dict, Tuple

import torch
import torch.nn.functional as F


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """logits (B, T, V), targets (B, T) long -> log p(target) (B, T), in float32."""
    logp = F.log_softmax(logits.float(), dim=-1)
    return logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def weighted_lm_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Next-token cross-entropy averaged with per-token weights.

    logits (B, T, V), targets (B, T), weights (B, T) -> scalar: sum(w * nll) / sum(w).
    SFT weighs completion tokens 1, prompt tokens `prompt_loss_weight`, padding 0.
    """
    nll = -token_logprobs(logits, targets)  # (B, T)
    w = weights.float()
    return (nll * w).sum() / w.sum().clamp(min=1e-8)


def masked_mean(x: torch.Tensor, mask: torch.Tensor, dim=None) -> torch.Tensor:
    """Mean of x where mask is 1: over everything (dim None) or along `dim`; 0 where nothing counts."""
    m = mask.to(x.dtype)
    if dim is None:
        return (x * m).sum() / m.sum().clamp(min=1)
    return (x * m).sum(dim) / m.sum(dim).clamp(min=1)


def group_advantages(rewards: torch.Tensor, scale: bool = True, eps: float = 1e-4) -> torch.Tensor:
    """GRPO advantages: each reward minus its group's mean, over the group's std when `scale`.

    rewards (N, G) -> advantages (N, G). The std is the unbiased one (as TRL's GRPOTrainer);
    a group whose rewards are all equal gets advantage 0 (no learning signal).
    """
    mean = rewards.mean(dim=1, keepdim=True)  # (N, 1)
    adv = rewards - mean
    if scale:
        std = rewards.std(dim=1, keepdim=True)  # (N, 1)
        adv = adv / (std + eps)
    return adv


def aggregate(per_token: torch.Tensor, mask: torch.Tensor, mode: str = "token-mean") -> torch.Tensor:
    """per_token (B, T), mask (B, T) -> scalar.

    token-mean: every completion token counts the same (DAPO; long answers are not diluted).
    seq-mean-token-mean: mean over each sequence's tokens, then over sequences (GRPO paper).
    """
    if mode == "token-mean":
        return masked_mean(per_token, mask)
    if mode == "seq-mean-token-mean":
        return masked_mean(per_token, mask, dim=1).mean()
    raise ValueError(f"unknown loss aggregation {mode!r}")


def clipped_policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    eps_low: float = 0.2,
    eps_high: float = 0.2,
    mode: str = "token-mean",
) -> Tuple[torch.Tensor, Dict[str, float]]:
    """PPO / GRPO clipped surrogate, to minimise.

    logp, old_logp (B, T): log-probs of the sampled tokens now and at sampling time;
    advantages (B,) one per sequence; mask (B, T) completion tokens.
    per token: max(-A * r, -A * clip(r, 1 - eps_low, 1 + eps_high)), r = exp(logp - old_logp).
    Returns (loss scalar, {"clip_frac", "ratio_mean"}).
    """
    ratio = torch.exp(logp - old_logp)  # (B, T)
    adv = advantages.unsqueeze(1)  # (B, 1)
    unclipped = -adv * ratio
    clipped = -adv * torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    per_token = torch.max(unclipped, clipped)  # (B, T)
    loss = aggregate(per_token, mask, mode)
    with torch.no_grad():
        clip_frac = masked_mean((clipped > unclipped).float(), mask)
        ratio_mean = masked_mean(ratio, mask)
    return loss, {"clip_frac": float(clip_frac), "ratio_mean": float(ratio_mean)}


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token KL(policy || reference) estimate (Schulman's k3, as GRPO): >= 0, unbiased.

    logp, ref_logp (B, T) -> (B, T): exp(ref - logp) - (ref - logp) - 1.
    """
    d = ref_logp - logp
    return torch.exp(d) - d - 1.0


def all_zero_groups(rewards: torch.Tensor) -> torch.Tensor:
    """rewards (N, G) -> (N,) bool: True where no completion of the prompt earned any reward."""
    return (rewards <= 0).all(dim=1)


def constant_groups(rewards: torch.Tensor) -> torch.Tensor:
    """rewards (N, G) -> (N,) bool: True where every completion got the same reward (zero advantage);
    DAPO's dynamic sampling drops them."""
    return (rewards == rewards[:, :1]).all(dim=1)
