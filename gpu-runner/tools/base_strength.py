"""How strong does the built-in task's base checkpoint get, and where does it fail? Trains a tiny GPT
from scratch with the runner's own SFT stage (the same code and config the API's base run uses) on
the built-in task's explicit traces, and at chosen steps measures greedy accuracy per level on a
VALIDATION set (the eval split, seed 3: `npm run experiment`'s experiment-val), with the failures
sorted into kinds. No API, no database: what the base recipe does, and nothing else.

    cd gpu-runner && OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/base_strength.py \
        --steps 2400 --eval-at 1200,2400 [--lr 1e-3] [--batch-size 32] [--n 60000] [--out run.jsonl]

Prints one line per evaluation (JSON, also appended to --out): step, tokens trained, training
tokens/s (evaluation time left out), the learning rate, accuracy overall and per level, and the
failures: `truncated` (no "Answer:" within max_new_tokens), `copy` (a step's operand or operator
is not the problem's), `arith` (a step's result is wrong), `chain` (a step does not start from the
previous result), `answer` (the answer is not the last step's result), `steps` (too few or too many
steps), `other` (none of these; unparsable). A failure counts under its first kind in that order.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from gpu_runner.__main__ import _setup_torch  # noqa: E402
from gpu_runner.config import parse_config  # noqa: E402
from gpu_runner.grading import grade  # noqa: E402
from gpu_runner.models import load_model  # noqa: E402
from gpu_runner.stages import sft  # noqa: E402
from gpu_runner.stages.common import StageContext, encode_prompt  # noqa: E402
from gpu_runner.tasks import arithmetic  # noqa: E402

STEP_RE = re.compile(r"(\d+)([+-])(\d+)=(\d+)\.")
ANSWER_RE = re.compile(r"Answer: (-?\d+)")
KINDS = ("truncated", "copy", "arith", "chain", "answer", "steps", "other")


def failure_kind(p: arithmetic.Problem, text: str) -> str:
    """The first way a wrong completion departs from the explicit trace of `p` (see KINDS)."""
    if "Answer:" not in text:
        return "truncated"
    steps = STEP_RE.findall(text)
    prev = p.start
    for i, (a, op, b, c) in enumerate(steps):
        a, b, c = int(a), int(b), int(c)
        if i < len(p.steps) and (op, b) != p.steps[i]:
            return "copy"
        if c != (a + b if op == "+" else a - b):
            return "arith"
        if a != prev:
            return "chain" if i > 0 else "copy"
        prev = c
    m = ANSWER_RE.search(text)
    if m and steps and int(m.group(1)) != prev:
        return "answer"
    if len(steps) != len(p.steps):
        return "steps"
    return "other"


class Evaluator:
    """Greedy accuracy per level (and failure kinds) of the model on a problem list."""

    def __init__(self, model, problems, max_new_tokens: int, batch_size: int = 128, show: int = 0):
        self.model, self.problems, self.max_new, self.bs = model, problems, max_new_tokens, batch_size
        self.show = show

    @torch.no_grad()
    def __call__(self) -> dict:
        model, was_training = self.model, self.model.module.training
        model.module.eval()
        per_level = {lv: [0, 0] for lv in arithmetic.LEVELS}
        kinds = {k: 0 for k in KINDS}
        shown = []
        for s in range(0, len(self.problems), self.bs):
            batch = self.problems[s: s + self.bs]
            outs = model.generate([encode_prompt(model, p.text) for p in batch], self.max_new, 0.0)
            for p, ids in zip(batch, outs):
                text = model.decode(ids)
                ok = grade(text, str(p.answer)).correct
                per_level[p.level][0] += int(ok)
                per_level[p.level][1] += 1
                if not ok:
                    kind = failure_kind(p, text)
                    kinds[kind] += 1
                    if len(shown) < self.show:
                        shown.append({"kind": kind, "problem": p.text, "gold": arithmetic.explicit_trace(p),
                                      "got": text})
        model.module.train(was_training)
        right = sum(c for c, _ in per_level.values())
        return {"acc": round(right / max(len(self.problems), 1), 4), "correct": right,
                "levels": [round(c / max(n, 1), 3) for c, n in per_level.values()], "failures": kinds,
                **({"shown": shown} if shown else {})}


@torch.no_grad()
def probe_counts(model, problems, k: int, max_new_tokens: int, batch_size: int = 64) -> dict:
    """Route the problems as the experiment's policy does (k samples at temperature 1): unsolved
    (0 of k right: SFT), partly solved (RL) and mastered (k of k: replay or dropped)."""
    model.module.eval()
    counts = {"unsolved": 0, "partly": 0, "mastered": 0}
    for s in range(0, len(problems), batch_size):
        batch = problems[s: s + batch_size]
        prompts = [encode_prompt(model, p.text) for p in batch for _ in range(k)]
        outs = model.generate(prompts, max_new_tokens, 1.0)
        for i, p in enumerate(batch):
            right = sum(grade(model.decode(ids), str(p.answer)).correct for ids in outs[i * k: (i + 1) * k])
            counts["unsolved" if right == 0 else "mastered" if right == k else "partly"] += 1
    return counts


class Reporter:
    """Enough of EventReporter for the SFT stage: runs the evaluations at the chosen steps and keeps
    the training time apart from the evaluation time."""

    cancel_requested = None
    enabled = True

    def __init__(self, eval_at, evaluators, out, started):
        self.eval_at, self.evaluators, self.out = set(eval_at), evaluators, out
        self.tokens, self.train_s, self.t_mark, self.lr = 0, 0.0, started, None

    def metric(self, step, values):
        if "compute/tokens" in values:
            self.tokens, self.lr = values["compute/tokens"], values.get("train/lr")

    def progress(self, step, total, eta):
        if step not in self.eval_at:
            return
        self.train_s += time.monotonic() - self.t_mark
        row = {"step": step, "tokens": self.tokens, "train_s": round(self.train_s, 1),
               "tokens_per_s": round(self.tokens / max(self.train_s, 1e-9)), "lr": self.lr}
        for name, ev in self.evaluators.items():
            row[name] = ev()
        print(json.dumps(row), flush=True)
        if self.out:
            with open(self.out, "a") as f:
                f.write(json.dumps(row) + "\n")
        self.t_mark = time.monotonic()

    def log(self, *a, **k):
        pass

    def register_checkpoint(self, body):
        pass

    def artifact(self, *a, **k):
        pass


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=60000, help="training problems (seed --seed, train split)")
    ap.add_argument("--seed", type=int, default=2, help="the training problems' seed (experiment-base: 2)")
    ap.add_argument("--val-n", type=int, default=500, help="validation problems (eval split, seed 3)")
    ap.add_argument("--train-eval-n", type=int, default=0, help="also evaluate on this many training problems")
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--eval-at", default="", help="comma-separated steps (default: the last)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--min-lr-ratio", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--prompt-loss-weight", type=float, default=0.5)
    ap.add_argument("--model-size", default="tiny")
    ap.add_argument("--run-seed", type=int, default=0, help="the SFT run's seed (init, batch order)")
    ap.add_argument("--max-new-tokens", type=int, default=72, help="as npm run experiment's EVAL runs")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = one per core)")
    ap.add_argument("--probe", help="no training: load this checkpoint directory and route --probe-n training "
                    "problems (train split, seed 0: experiment-train) by --probe-k samples at temperature 1")
    ap.add_argument("--show", type=int, default=0, help="(--probe) print this many wrong validation answers")
    ap.add_argument("--probe-n", type=int, default=400)
    ap.add_argument("--probe-k", type=int, default=4)
    ap.add_argument("--work-dir", default="/tmp/base-strength")
    ap.add_argument("--out", help="append the result lines to this file")
    args = ap.parse_args(argv)

    if args.probe:
        cfg = parse_config("EVAL", {"num_threads": args.threads})
        model = load_model(args.probe, model_size="tiny", hf_config=None, device=_setup_torch(cfg), dtype="auto",
                           seed=0)
        val = arithmetic.generate(args.val_n, 3, "eval")
        row = {"checkpoint": args.probe, "val": Evaluator(model, val, args.max_new_tokens, show=args.show)(),
               "routing": probe_counts(model, arithmetic.generate(args.probe_n, 0, "train"), args.probe_k,
                                       args.max_new_tokens)}
        print(json.dumps(row), flush=True)
        return 0
    eval_at = [int(x) for x in args.eval_at.split(",") if x] or [args.steps]
    train = arithmetic.generate(args.n, args.seed, "train")
    val = arithmetic.generate(args.val_n, 3, "eval")
    items = [{"ordinal": i + 1, "sampleId": str(i + 1), "problem": p.text,
              "trace": {"text": arithmetic.explicit_trace(p)}} for i, p in enumerate(train)]
    cfg = parse_config("SFT", {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
                               "warmup_steps": args.warmup, "min_lr_ratio": args.min_lr_ratio,
                               "weight_decay": args.weight_decay, "seed": args.run_seed,
                               "prompt_loss_weight": args.prompt_loss_weight, "model_size": args.model_size,
                               "num_threads": args.threads,
                               "log_every": 1 if len(eval_at) > 1 else args.steps, "save_onnx": False})
    device = _setup_torch(cfg)
    model = load_model(None, model_size=cfg.model_size, hf_config=None, device=device, dtype="auto",
                       seed=cfg.seed)
    evaluators = {"val": Evaluator(model, val, args.max_new_tokens)}
    if args.train_eval_n:
        evaluators["train"] = Evaluator(model, train[: args.train_eval_n], args.max_new_tokens)
    head = {"config": {k: v for k, v in vars(args).items() if k not in ("out", "work_dir")},
            "threads": torch.get_num_threads(), "openblas": os.environ.get("OPENBLAS_NUM_THREADS")}
    print(json.dumps(head), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(head) + "\n")
    rep = Reporter(eval_at, evaluators, args.out, time.monotonic())
    ctx = StageContext(run_id="base-strength", stage="SFT", config=cfg, items=items, model=model, reporter=rep,
                       work_dir=args.work_dir)
    sft.run(ctx)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
