"""What every stage shares: the run context, prompt format, batches, schedule, checkpoints."""
from __future__ import annotations

import math
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import List, Optional, Sequence, Tuple

import torch

from ..disk import writing
from ..grading import GRADER_VERSION


@dataclass
class StageContext:
    """Everything a stage needs. `reporter` is an EventReporter (or anything with its methods)."""

    run_id: str
    stage: str
    config: object
    items: List[dict]
    model: object  # a models.CausalLM; None for BRIDGE and CRITIQUE (a teacher does their work)
    reporter: object
    work_dir: str
    input_checkpoint: Optional[dict] = None
    stop_event: threading.Event = field(default_factory=threading.Event)

    def should_stop(self) -> bool:
        """True once a cancel was requested (API answer or SIGTERM): stop at this step boundary."""
        cancel = getattr(self.reporter, "cancel_requested", None)
        return self.stop_event.is_set() or bool(cancel is not None and cancel.is_set())


@dataclass
class StageResult:
    cancelled: bool = False
    summary: dict = field(default_factory=dict)


def format_prompt(problem: str) -> str:
    """The prompt the student sees; the completion follows it directly."""
    return problem.strip() + "\n"


def encode_prompt(model, problem: str, hint: Optional[str] = None) -> List[int]:
    """The prompt's ids; a hint (the start of a verified teacher trace, for hint-bridged SFT) follows
    the prompt directly, so the student learns to finish what the hint began."""
    return model.encode(format_prompt(problem) + (hint or ""), bos=True)


def encode_completion(model, text: str) -> List[int]:
    return model.encode(text) + [model.eos_id]


class Eta:
    """Seconds left, from the mean time per step so far."""

    def __init__(self, total: int):
        self.total, self.started = total, time.monotonic()

    def __call__(self, done: int) -> Optional[float]:
        if done <= 0:
            return None
        return (time.monotonic() - self.started) / done * max(0, self.total - done)


def cosine_lr(step: int, total: int, peak: float, warmup: int, min_ratio: float) -> float:
    """Linear warmup to `peak` over `warmup` steps, then cosine decay to min_ratio * peak at `total`.
    step counts from 1."""
    if warmup > 0 and step <= warmup:
        return peak * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


def make_optimizer(module: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW; weight decay on matrices only (not on biases, norms), as nanoGPT."""
    params = [p for p in module.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))


def sft_batch(
    examples: Sequence[Tuple[List[int], List[int]]], pad_id: int, prompt_weight: float, device
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(prompt ids, completion ids) pairs -> inputs (B, T), targets (B, T), weights (B, T).

    Right-padded; targets are inputs shifted by one. A target inside the prompt weighs
    `prompt_weight`, inside the completion 1, padding 0.
    """
    T = max(len(p) + len(c) for p, c in examples) - 1
    inputs = torch.full((len(examples), T), pad_id, dtype=torch.long)
    targets = torch.full((len(examples), T), pad_id, dtype=torch.long)
    weights = torch.zeros((len(examples), T))
    for i, (p, c) in enumerate(examples):
        seq = torch.tensor(p + c, dtype=torch.long)
        n = len(seq) - 1
        inputs[i, :n] = seq[:-1]
        targets[i, :n] = seq[1:]
        weights[i, : len(p) - 1] = prompt_weight  # targets that are prompt tokens
        weights[i, len(p) - 1: n] = 1.0  # targets that are completion tokens (EOS included)
    return inputs.to(device), targets.to(device), weights.to(device)


@dataclass
class RolloutBatch:
    """Prompts left-padded to P, completions right-padded to C, in one (B, P + C) sequence."""

    input_ids: torch.Tensor  # (B, P + C)
    attention_mask: torch.Tensor  # (B, P + C) bool
    completion: torch.Tensor  # (B, C)
    completion_mask: torch.Tensor  # (B, C) float
    prompt_len: int  # P


def rollout_batch(prompts: List[List[int]], completions: List[List[int]], pad_id: int, device) -> RolloutBatch:
    P = max(len(p) for p in prompts)
    C = max(1, max(len(c) for c in completions))
    B = len(prompts)
    ids = torch.full((B, P + C), pad_id, dtype=torch.long)
    mask = torch.zeros((B, P + C), dtype=torch.bool)
    cmask = torch.zeros((B, C))
    for i, (p, c) in enumerate(zip(prompts, completions)):
        ids[i, P - len(p): P] = torch.tensor(p, dtype=torch.long)
        mask[i, P - len(p): P + len(c)] = True
        if c:
            ids[i, P: P + len(c)] = torch.tensor(c, dtype=torch.long)
        cmask[i, : len(c)] = 1.0
    return RolloutBatch(ids.to(device), mask.to(device), ids[:, P:].to(device), cmask.to(device), P)


def completion_logprobs(model, batch: RolloutBatch, temperature: float = 1.0) -> torch.Tensor:
    """log p of each completion token under `model` sampling at `temperature`: (B, C). The logit at
    column t predicts t + 1. Logits are divided by the temperature (<= 0, greedy, reads as 1): the
    policy-gradient maths need the probabilities the tokens were actually sampled with."""
    from ..losses import token_logprobs

    logits = model.logits(batch.input_ids, batch.attention_mask)  # (B, P + C, V)
    P, C = batch.prompt_len, batch.completion.shape[1]
    scaled = logits[:, P - 1: P - 1 + C] / (temperature if temperature > 0 else 1.0)  # (B, C, V)
    return token_logprobs(scaled, batch.completion)


def with_eos(completion: List[int], eos_id: int, max_new_tokens: int) -> List[int]:
    """The tokens the policy actually sampled: the completion plus EOS when it stopped by itself."""
    return completion + [eos_id] if len(completion) < max_new_tokens else completion


def rollout_record(item: dict, key: str, text: str, grade, token_count: int) -> dict:
    """One rollout as POST /rollouts takes it."""
    return {
        "sampleId": item["sampleId"],
        "key": key,
        "text": text,
        "finalAnswer": grade.final_answer,
        "correct": grade.correct,
        "reward": grade.reward,
        "graderVersion": GRADER_VERSION,
        "tokenCount": token_count,
    }


def save_and_register(ctx: StageContext, name: Optional[str], step: int, save_onnx: bool, extra: dict) -> dict:
    """Write the checkpoint directory (+ ONNX), register it with the API, report an ARTIFACT."""
    name = name or f"{ctx.stage.lower()}-{ctx.run_id}-step-{step}"
    directory = os.path.abspath(os.path.join(ctx.work_dir, "checkpoints", name))
    onnx_path = None
    # A checkpoint is registered only once whole: a failed write (a full disk above all) removes
    # the directory, and the run fails with the reason.
    with writing(f"checkpoint '{name}'", directory, lambda: shutil.rmtree(directory, ignore_errors=True)):
        ctx.model.save(directory)
        if save_onnx:
            onnx_path = ctx.model.export_onnx(os.path.join(directory, "model.onnx"))
    body = {
        "name": name,
        "uri": directory,
        "onnxUri": onnx_path,
        "baseModel": ctx.model.base_model,
        "metadata": {"stage": ctx.stage, "step": step, **extra},
    }
    ctx.reporter.register_checkpoint(body)
    ctx.reporter.artifact("checkpoint", directory, name=name, onnxUri=onnx_path, step=step)
    return body
