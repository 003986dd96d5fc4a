"""How likely the student finds a trace: per-trace mean negative log-likelihood under a checkpoint.

The PyTorch reference of the API's in-process ONNX scorer (src/scoring, the Bridge `select`
strategy's engine), and the other side of its benchmark (bench/onnx-scoring.ts). A trace is scored
in exactly the SFT format: prompt = encode_prompt(problem) (BOS, the stripped problem, newline),
completion = encode_completion(trace) (its characters, then EOS); a pair longer than `max_seq_len`
is cut as stages/sft.py cuts it. Score = mean over the completion tokens of -log p(token | all
tokens before it).

    python3 -m gpu_runner.models.scoring --checkpoint DIR --items items.jsonl --out scores.jsonl \
        [--batch-size 16] [--max-seq-len 512] [--threads 2]

items.jsonl holds one {"problem", "completion"} per line; scores.jsonl gets one {"meanNll",
"tokens"} per line in the same order. Prints one JSON line {"items", "tokens", "seconds"}, where
`seconds` is the scoring loop alone (no Python start-up, torch import, model load or file I/O).
"""
from __future__ import annotations

import argparse
import json
import os
import time
from typing import List, Sequence, Tuple

import torch

from ..losses import token_logprobs
from ..stages.common import encode_completion, encode_prompt, sft_batch


def fit_to_context(prompt: List[int], completion: List[int], max_seq_len: int) -> Tuple[List[int], List[int]]:
    """The cut stages/sft.py makes: keep the completion, drop the prompt's start (keeping at least
    2 prompt tokens), and only then cut the completion's end."""
    if len(prompt) + len(completion) <= max_seq_len:
        return prompt, completion
    prompt = prompt[-max(2, max_seq_len - len(completion)):]
    return prompt, completion[: max_seq_len - len(prompt)]


def encode_item(model, problem: str, completion: str, max_seq_len: int) -> Tuple[List[int], List[int]]:
    return fit_to_context(encode_prompt(model, problem), encode_completion(model, completion), max_seq_len)


@torch.no_grad()
def batch_nll(model, examples: Sequence[Tuple[List[int], List[int]]]) -> List[Tuple[float, int]]:
    """(prompt ids, completion ids) pairs -> (mean NLL of the completion tokens, their count) each.

    The batch is SFT's own (right-padded, no attention mask: attention is causal, so padding after
    a sequence never reaches its positions); prompt_weight 0 leaves weight 1 on completion tokens.
    """
    inputs, targets, weights = sft_batch(examples, model.pad_id, 0.0, model.device)  # (B, T) each
    nll = -token_logprobs(model.logits(inputs), targets).double()  # (B, T)
    w = weights.double()
    sums, counts = (nll * w).sum(dim=1), w.sum(dim=1)  # (B,)
    return [(float(s / n), int(n)) for s, n in zip(sums, counts)]


def score_items(model, items: Sequence[dict], batch_size: int = 16, max_seq_len: int = 512) -> List[dict]:
    """[{problem, completion}] -> [{meanNll, tokens}], same order. Batches are formed from items of
    similar length (sorted by length), so little compute goes to padding."""
    model.module.eval()
    encoded = [encode_item(model, it["problem"], it["completion"], max_seq_len) for it in items]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]) + len(encoded[i][1]))
    out: List[dict] = [{} for _ in encoded]
    for start in range(0, len(order), batch_size):
        chunk = order[start: start + batch_size]
        for i, (mean_nll, tokens) in zip(chunk, batch_nll(model, [encoded[i] for i in chunk])):
            out[i] = {"meanNll": mean_nll, "tokens": tokens}
    return out


def main(argv=None) -> int:
    from . import load_model

    ap = argparse.ArgumentParser(prog="python3 -m gpu_runner.models.scoring", description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", required=True, help="checkpoint directory (a file:// prefix is accepted)")
    ap.add_argument("--items", required=True, help="JSONL of {problem, completion}")
    ap.add_argument("--out", required=True, help="JSONL of {meanNll, tokens}, one per item, same order")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--max-seq-len", type=int, default=512, help="as SFT's max_seq_len: longer pairs are cut")
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1), help="torch intra-op threads")
    args = ap.parse_args(argv)
    if args.batch_size < 1 or args.max_seq_len < 8 or args.threads < 1:
        ap.error("--batch-size and --threads must be >= 1, --max-seq-len >= 8 (as SFT's max_seq_len)")
    torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint, model_size="tiny", hf_config=None, device=torch.device("cpu"), dtype="auto",
                       seed=0)
    with open(args.items) as f:
        items = [json.loads(line) for line in f if line.strip()]
    started = time.perf_counter()
    scores = score_items(model, items, args.batch_size, args.max_seq_len)
    seconds = time.perf_counter() - started
    with open(args.out, "w") as f:
        for s in scores:
            f.write(json.dumps(s) + "\n")
    print(json.dumps({"items": len(scores), "tokens": sum(s["tokens"] for s in scores), "seconds": seconds}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
