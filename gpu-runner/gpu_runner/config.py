"""One validated config dataclass per stage (TRL style): defaults, help text, fix-it errors.

`parse_config(stage, raw)` checks every field of a run's `config` object and reports every problem
at once, naming the field (unknown keys too, with a "did you mean"). The same rules are exported
as a JSON-schema-like document, so the API validates the same fields before it starts a run:

    python3 -m gpu_runner.config --schema           # all stages, JSON
    python3 -m gpu_runner.config --check SFT '{"steps": 10}'
"""
from __future__ import annotations

import difflib
import json
import math
import re
import sys
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional, Tuple


def _f(default, help: str, **rules):
    """A config field: default, help text, and rules (minimum, maximum, exclusive_minimum, choices)."""
    meta = {"help": help, **rules}
    if isinstance(default, dict):
        return field(default_factory=lambda: dict(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class CommonConfig:
    seed: int = _f(0, "Seed of every random choice of the run (init, batches, sampling).", minimum=0)
    model_size: str = _f("tiny", "Tiny GPT preset built when the run has no input checkpoint: tiny = 2 layers x 64 "
                         "(~105k parameters, the CPU default), small = 4 x 128, medium = 6 x 256.",
                         choices=["tiny", "small", "medium"])
    hf_config: Optional[dict] = _f(None, "Build a Hugging Face model from this config dict (e.g. {\"model_type\": "
                                   "\"llama\", \"hidden_size\": 256, ...}) instead of a tiny GPT when the run has no "
                                   "input checkpoint; needs transformers (GPU machines). vocab_size is set from the "
                                   "built-in character tokenizer.")
    device: str = _f("auto", "Where to run: auto = cuda when available, else cpu.", choices=["auto", "cpu", "cuda"])
    dtype: str = _f("auto", "Weights and compute dtype: auto = bfloat16 for Hugging Face models on a GPU that "
                    "supports it, float32 otherwise.", choices=["auto", "float32", "bfloat16"])
    num_threads: int = _f(0, "CPU threads for torch (0 = one per core). OpenBLAS runs with one thread beside them.",
                          minimum=0, maximum=256)
    report_events: bool = _f(True, "Report PROGRESS / METRIC / LOG / ARTIFACT events. false keeps only the STATUS "
                             "events and heartbeats (for measuring the cost of reporting).")
    log_every: int = _f(10, "Report PROGRESS and METRIC events every this many steps.", minimum=1)

    def check(self) -> List[Tuple[str, str]]:
        """Cross-field rules: (field, message) for each problem."""
        return []


@dataclass
class ProbeConfig(CommonConfig):
    """PROBE: sample k answers per problem at a temperature; the API grades them into pass rates."""

    k: int = _f(8, "Samples per problem.", minimum=1, maximum=1024)
    temperature: float = _f(1.0, "Sampling temperature (0 = greedy, which makes k > 1 pointless).", minimum=0.0,
                            maximum=10.0)
    max_new_tokens: int = _f(96, "Longest completion, in tokens.", minimum=1, maximum=32768)
    batch_size: int = _f(64, "Problems per generation batch (each expands to k rows).", minimum=1, maximum=4096)
    rollout_batch: int = _f(500, "Rollouts per POST /rollouts request.", minimum=1, maximum=1000)

    def check(self):
        if self.temperature == 0 and self.k > 1:
            return [("temperature", f"is 0 (greedy) with k = {self.k}: every sample would be the same; "
                                    "use temperature > 0 or k = 1")]
        return []


@dataclass
class SFTConfig(CommonConfig):
    """SFT: next-token loss on prompt + trace, full weight on the trace, reduced on the prompt."""

    steps: int = _f(300, "Optimizer steps (with epochs: the most it will take).", minimum=1, maximum=10_000_000)
    epochs: Optional[float] = _f(None, "Passes over the manifest's items: steps = ceil(epochs x items / batch_size), "
                                 "at most `steps`. Sizes training to the data (a curriculum's SFT set changes size "
                                 "every round); null = exactly `steps`.", exclusive_minimum=0.0, maximum=1000.0)
    batch_size: int = _f(32, "Sequences per step.", minimum=1, maximum=65536)
    lr: float = _f(1e-3, "Peak learning rate of AdamW (1e-3 suits the tiny GPT from scratch; ~1e-5 for a "
                   "pretrained Hugging Face model).", exclusive_minimum=0.0, maximum=1.0)
    weight_decay: float = _f(0.1, "AdamW weight decay (matrices only).", minimum=0.0, maximum=10.0)
    warmup_steps: int = _f(20, "Linear warmup steps (capped at steps), then cosine decay to min_lr_ratio * lr.",
                           minimum=0)
    min_lr_ratio: float = _f(0.1, "Final learning rate as a fraction of lr.", minimum=0.0, maximum=1.0)
    grad_clip: float = _f(1.0, "Clip the gradient norm to this (0 = no clipping).", minimum=0.0)
    prompt_loss_weight: float = _f(0.5, "Loss weight of prompt tokens (completion tokens weigh 1; 0 = loss on the "
                                   "completion only). 0.5 learned the arithmetic task fastest.", minimum=0.0,
                                   maximum=1.0)
    max_seq_len: int = _f(512, "Truncate prompt + completion to this many tokens.", minimum=8, maximum=1_000_000)
    save_onnx: bool = _f(True, "Export the trained model to ONNX beside the checkpoint (tiny GPT only).")
    checkpoint_name: Optional[str] = _f(None, "Name of the registered checkpoint (default sft-<run>-step-<steps>).",
                                        max_length=200)



@dataclass
class RLConfig(CommonConfig):
    """RL: GRPO on prompts with grader rewards; DAPO's dynamic sampling and clip-higher as options."""

    steps: int = _f(100, "Policy updates (one batch of prompts each).", minimum=1, maximum=10_000_000)
    prompts_per_step: int = _f(16, "Prompts per step.", minimum=1, maximum=65536)
    group_size: int = _f(8, "Completions per prompt (G); advantages are normalised within each group.", minimum=2,
                         maximum=1024)
    lr: float = _f(1e-5, "Learning rate of AdamW. 1e-5 held the tiny GPT's held-out accuracy over 40 steps where "
                   "1e-4 lowered it (21% -> 16%) and let shuffled rewards collapse it: Adam's first steps move "
                   "every weight by about lr whatever the gradient.", exclusive_minimum=0.0, maximum=1.0)
    warmup_steps: int = _f(0, "Linear warmup of the learning rate over this many steps (capped at steps), then "
                           "constant; 0 = lr from the first step (how 1e-5 was measured to hold).", minimum=0)
    weight_decay: float = _f(0.0, "AdamW weight decay.", minimum=0.0, maximum=10.0)
    reward: str = _f("final_answer", "What a completion earns: final_answer = 1 when the grader finds the right "
                     "final answer; steps = 1 only when, as well, every step of its arithmetic is right and the "
                     "steps apply all of the problem's operations (built-in arithmetic task only: other prompts "
                     "fail the run).", choices=["final_answer", "steps"])
    temperature: float = _f(1.0, "Sampling temperature of the rollouts.", exclusive_minimum=0.0, maximum=10.0)
    max_new_tokens: int = _f(96, "Longest completion, in tokens.", minimum=1, maximum=32768)
    clip_eps_low: float = _f(0.2, "PPO clip: ratio floor 1 - clip_eps_low.", minimum=0.0, maximum=1.0)
    clip_eps_high: float = _f(0.2, "PPO clip: ratio ceiling 1 + clip_eps_high (DAPO's clip-higher uses 0.28).",
                              minimum=0.0, maximum=10.0)
    kl_coef: float = _f(0.0, "Weight of the KL penalty to the input checkpoint (k3 estimator); 0 = no reference "
                        "model is kept.", minimum=0.0)
    ppo_epochs: int = _f(1, "Gradient steps on each batch of rollouts (1 = on-policy).", minimum=1, maximum=64)
    grad_clip: float = _f(1.0, "Clip the gradient norm to this (0 = no clipping); the norm before clipping is "
                          "reported as train/grad_norm.", minimum=0.0)
    scale_rewards: bool = _f(True, "Divide advantages by the group's reward std (GRPO); false = Dr. GRPO style.")
    loss_agg: str = _f("token-mean", "How token losses are averaged: token-mean (DAPO: over all completion tokens) "
                       "or seq-mean-token-mean (GRPO: per sequence, then over sequences).",
                       choices=["token-mean", "seq-mean-token-mean"])
    dynamic_sampling: bool = _f(False, "DAPO dynamic sampling: drop groups whose rewards are all equal (no signal) "
                                "and sample more prompts until the batch is full or max_sampling_rounds.")
    max_sampling_rounds: int = _f(3, "With dynamic_sampling: most generation rounds per step.", minimum=1,
                                  maximum=100)
    post_rollouts: str = _f("zero_groups", "Which rollouts to send to the API: all, zero_groups (those of prompts "
                            "whose whole group scored zero, for critique data), or none.",
                            choices=["all", "zero_groups", "none"])
    save_onnx: bool = _f(True, "Export the trained model to ONNX beside the checkpoint (tiny GPT only).")
    checkpoint_name: Optional[str] = _f(None, "Name of the registered checkpoint (default rl-<run>-step-<steps>).",
                                        max_length=200)

    def check(self):
        if self.dynamic_sampling and self.max_sampling_rounds < 2:
            return [("max_sampling_rounds", "is 1 with dynamic_sampling: there is no round to refill the batch; "
                                            "use 2 or more")]
        return []


@dataclass
class EvalConfig(CommonConfig):
    """EVAL: greedy accuracy on held-out problems."""

    batch_size: int = _f(128, "Problems per generation batch.", minimum=1, maximum=65536)
    max_new_tokens: int = _f(96, "Longest completion, in tokens.", minimum=1, maximum=32768)
    write_results: bool = _f(True, "Write per-problem results to eval_results.jsonl in the work dir (reported "
                             "as an ARTIFACT).")


BRIDGE_PROMPT = """Rewrite the worked solution below for a small student model: short, explicit steps, one \
operation per step, each step stating its result, nothing skipped. Keep the same final answer and end \
with a last line "Answer: <final answer>". Reply with the rewritten solution only.

Problem:
{problem}

Solution to rewrite:
{trace}"""

CRITIQUE_PROMPT = """A student model tried the problem below and got it wrong. The correct final answer is {answer}.

Problem:
{problem}

The student's attempt:
{rollout}

Find the FIRST step where the attempt goes wrong (steps are its sentences or lines, numbered from 1). \
Reply with one JSON object and nothing else, with these keys:
- "diagnosis": which step goes wrong first, what it says, what it should say, and why;
- "verdict": "WRONG_STEP", "WRONG_FINAL_ANSWER" (every step is right but the final answer is not), \
"NO_ANSWER" (no final answer is given) or "CORRECT";
- "first_wrong_step": the number of that step, or null when no step is wrong;
- "repair": the attempt's correct steps up to the wrong one, then a corrected continuation, ending with \
"Answer: <final answer>";
- "solution": a new complete solution in short explicit steps, ending with "Answer: <final answer>"."""


@dataclass
class TeacherStageConfig:
    """What BRIDGE and CRITIQUE share: their work is done by a teacher, so they load no model."""

    teacher: str = _f("builtin", "Who writes: builtin = the programmatic teacher of the built-in arithmetic task "
                      "(refuses other problems); openai = a model behind an OpenAI-compatible chat-completions "
                      "endpoint (teacher_url, teacher_model).", choices=["builtin", "openai"])
    teacher_url: Optional[str] = _f(None, "Base URL of the OpenAI-compatible endpoint (POST {url}/chat/completions), "
                                    "e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1 for vLLM.",
                                    max_length=2000)
    teacher_model: Optional[str] = _f(None, "Model name sent to the endpoint; also recorded as the producer / teacher "
                                      "of what it writes.", max_length=200)
    teacher_prompt: str = _f("", "Prompt of the openai teacher (each stage has its own default).", max_length=20000)
    teacher_api_key_env: Optional[str] = _f("OPENAI_API_KEY", "Environment variable of the runner that holds the "
                                            "endpoint's bearer key (the key itself never goes in a config); null = "
                                            "send no key (a local server).", max_length=200)
    teacher_temperature: float = _f(0.0, "Sampling temperature of the teacher.", minimum=0.0, maximum=2.0)
    teacher_max_tokens: int = _f(1024, "Longest teacher reply, in tokens.", minimum=1, maximum=262144)
    teacher_timeout_s: float = _f(120.0, "Seconds to wait for one teacher reply.", exclusive_minimum=0.0,
                                  maximum=3600.0)
    teacher_retries: int = _f(3, "Retries of one teacher call after a connection error, a timeout, a 429 or a 5xx "
                              "(backoff 1 s doubling to 30 s).", minimum=0, maximum=20)
    teacher_concurrency: int = _f(8, "Teacher calls in flight at once (openai; builtin runs one at a time).",
                                  minimum=1, maximum=256)
    batch_size: int = _f(64, "Manifest items per batch: each batch is written, posted and reported (PROGRESS, "
                         "METRIC) together.", minimum=1, maximum=1000)
    report_events: bool = _f(True, "Report PROGRESS / METRIC / LOG events. false keeps only the STATUS events and "
                             "heartbeats.")

    # The placeholder a stage's prompt cannot do without (what the teacher works on).
    _required_placeholders: typing.ClassVar[Tuple[str, ...]] = ()

    def check(self) -> List[Tuple[str, str]]:
        problems = []
        if self.teacher == "openai":
            for name in ("teacher_url", "teacher_model"):
                if not getattr(self, name):
                    problems.append((name, "is required with teacher 'openai' (the endpoint's base URL and the "
                                           "model to ask); or use teacher 'builtin' for the built-in task"))
            if self.teacher_url and not self.teacher_url.startswith(("http://", "https://")):
                problems.append(("teacher_url", f"must start with http:// or https://, got {self.teacher_url!r}"))
        if self.teacher_api_key_env is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*",
                                                                     self.teacher_api_key_env):
            problems.append(("teacher_api_key_env", f"must be an environment variable name (letters, digits, _), "
                                                    f"got {self.teacher_api_key_env!r}"))
        if not any("{" + p + "}" in self.teacher_prompt for p in self._required_placeholders):
            need = " or ".join("{" + p + "}" for p in self._required_placeholders)
            problems.append(("teacher_prompt", f"must contain {need}: the text the teacher works on goes there"))
        return problems


@dataclass
class BridgeConfig(TeacherStageConfig):
    """BRIDGE (rewrite): a teacher rewrites each verified teacher trace into short, explicit steps; the
    rewrites go to POST /traces as BRIDGED traces, kept by the API only if they still grade correct."""

    teacher_prompt: str = _f(BRIDGE_PROMPT, "Prompt of the openai teacher; {problem}, {trace} (the teacher trace "
                             "to rewrite) and {answer} (the gold answer) are filled in.", max_length=20000)
    _required_placeholders: typing.ClassVar[Tuple[str, ...]] = ("trace",)


@dataclass
class CritiqueConfig(TeacherStageConfig):
    """CRITIQUE: a teacher diagnoses each failed student rollout (first wrong step, verdict) and writes a
    repair and a new solution; they go to POST /critiques, where the API verifies both."""

    teacher_prompt: str = _f(CRITIQUE_PROMPT, "Prompt of the openai teacher; {problem}, {rollout} (the failed "
                             "rollout; {trace} is the same), {answer} (the gold answer) are filled in. The reply "
                             "must be a JSON object with diagnosis, verdict, first_wrong_step, repair, solution.",
                             max_length=20000)
    _required_placeholders: typing.ClassVar[Tuple[str, ...]] = ("rollout", "trace")


STAGE_CONFIGS = {"PROBE": ProbeConfig, "SFT": SFTConfig, "RL": RLConfig, "EVAL": EvalConfig,
                 "BRIDGE": BridgeConfig, "CRITIQUE": CritiqueConfig}
TEACHER_STAGES = ("BRIDGE", "CRITIQUE")  # no model: the teacher does the work


class ConfigError(ValueError):
    """Every problem of one config, each naming its field and how to fix it."""

    def __init__(self, stage: str, problems: List[Tuple[str, str]]):
        self.stage, self.problems = stage, problems
        lines = [f"invalid {stage} config ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
        lines += [f"  - {name}: {msg}" for name, msg in problems]
        super().__init__("\n".join(lines))


def _hints(cls) -> Dict[str, Any]:
    return typing.get_type_hints(cls)


def _base_type(tp) -> Tuple[type, bool]:
    """(int | float | bool | str | dict, nullable)"""
    args = typing.get_args(tp)
    if typing.get_origin(tp) is typing.Union and type(None) in args:
        return next(a for a in args if a is not type(None)), True
    return tp, False


def _default(f):
    return f.default_factory() if f.default is MISSING else f.default


def _check_value(name: str, tp, meta: dict, value, help_default: str) -> Tuple[Any, Optional[str]]:
    base, nullable = _base_type(tp)
    if value is None:
        return (None, None) if nullable else (None, f"must not be null ({help_default})")
    got = json.dumps(value) if not isinstance(value, str) else repr(value)
    if base is bool:
        if not isinstance(value, bool):
            return None, f"must be true or false, got {got}"
    elif base is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return None, f"must be an integer, got {got} ({help_default})"
    elif base is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return None, f"must be a number, got {got} ({help_default})"
        value = float(value)
    elif base is str:
        if not isinstance(value, str):
            return None, f"must be a string, got {got}"
        if "choices" in meta and value not in meta["choices"]:
            close = difflib.get_close_matches(value, meta["choices"], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            return None, f"must be one of {', '.join(meta['choices'])}, got {got}{hint}"
        if "max_length" in meta and len(value) > meta["max_length"]:
            return None, f"must be at most {meta['max_length']} characters, got {len(value)}"
    elif base is dict:
        if not isinstance(value, dict):
            return None, f"must be an object, got {got}"
    if base in (int, float):
        if "minimum" in meta and value < meta["minimum"]:
            return None, f"must be >= {meta['minimum']}, got {got} ({help_default})"
        if "exclusive_minimum" in meta and value <= meta["exclusive_minimum"]:
            return None, f"must be > {meta['exclusive_minimum']}, got {got} ({help_default})"
        if "maximum" in meta and value > meta["maximum"]:
            return None, f"must be <= {meta['maximum']}, got {got} ({help_default})"
    return value, None


def parse_config(stage: str, raw: Optional[dict]):
    """The stage's config from a run's `config` object; raises ConfigError naming every wrong field."""
    if stage not in STAGE_CONFIGS:
        raise ConfigError(str(stage), [("stage", f"the runner runs {', '.join(STAGE_CONFIGS)}, not {stage!r}")])
    cls = STAGE_CONFIGS[stage]
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(stage, [("config", f"must be a JSON object, got {json.dumps(raw)[:80]}")])
    hints, by_name = _hints(cls), {f.name: f for f in fields(cls)}
    problems, values = [], {}
    for key in raw:
        if key not in by_name:
            close = difflib.get_close_matches(key, list(by_name), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            problems.append((key, f"unknown field; {hint}{stage} accepts: {', '.join(by_name)}"))
    for name, f in by_name.items():
        if name not in raw:
            continue
        help_default = f"default {json.dumps(_default(f))}: {f.metadata['help']}"
        value, err = _check_value(name, hints[name], f.metadata, raw[name], help_default)
        if err:
            problems.append((name, err))
        else:
            values[name] = value
    if problems:
        raise ConfigError(stage, problems)
    cfg = cls(**values)
    problems = cfg.check()
    if problems:
        raise ConfigError(stage, problems)
    return cfg


def to_dict(cfg) -> dict:
    return asdict(cfg)


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", dict: "object"}


def stage_schema(stage: str) -> dict:
    cls = STAGE_CONFIGS[stage]
    hints, props = _hints(cls), {}
    for f in fields(cls):
        base, nullable = _base_type(hints[f.name])
        t = _JSON_TYPES[base]
        prop: Dict[str, Any] = {"type": [t, "null"] if nullable else t, "default": _default(f),
                                "description": f.metadata["help"]}
        for rule, key in (("minimum", "minimum"), ("maximum", "maximum"), ("exclusive_minimum", "exclusiveMinimum"),
                          ("choices", "enum"), ("max_length", "maxLength")):
            if rule in f.metadata:
                prop[key] = f.metadata[rule]
        props[f.name] = prop
    return {"title": f"{stage} run config", "description": (cls.__doc__ or "").strip(), "type": "object",
            "additionalProperties": False, "properties": props}


def schema() -> dict:
    """All stages: {"$schema": ..., "stages": {"PROBE": {...}, ...}}. Cross-field rules (e.g.
    SFT warmup_steps <= steps) are listed under each stage's "x-rules"."""
    out = {"$schema": "https://json-schema.org/draft/2020-12/schema", "stages": {}}
    rules = {
        "PROBE": ["temperature = 0 requires k = 1"],
        "SFT": [],
        "RL": ["dynamic_sampling requires max_sampling_rounds >= 2"],
        "EVAL": [],
        "BRIDGE": ["teacher = openai requires teacher_url and teacher_model", "teacher_prompt must contain {trace}"],
        "CRITIQUE": ["teacher = openai requires teacher_url and teacher_model",
                     "teacher_prompt must contain {rollout} or {trace}"],
    }
    for stage in STAGE_CONFIGS:
        s = stage_schema(stage)
        s["x-rules"] = rules[stage]
        out["stages"][stage] = s
    return out


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python3 -m gpu_runner.config")
    ap.add_argument("--schema", action="store_true", help="print the JSON schema of every stage config")
    ap.add_argument("--check", nargs=2, metavar=("STAGE", "JSON"), help="validate a config, print it with defaults")
    args = ap.parse_args(argv)
    if args.schema:
        json.dump(schema(), sys.stdout, indent=2)
        print()
        return 0
    if args.check:
        try:
            cfg = parse_config(args.check[0], json.loads(args.check[1]))
        except ConfigError as e:
            print(e, file=sys.stderr)
            return 2
        print(json.dumps(to_dict(cfg), indent=2))
        return 0
    ap.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
