"""A few real steps of every stage on the tiny model: parameters change, outputs come out."""
import json
import os

import pytest
import torch

from gpu_runner.client import EventReporter
from gpu_runner.config import parse_config
from gpu_runner.grading import Grade
from gpu_runner.models.tiny_gpt import TinyBackend, TinyGPTConfig
from gpu_runner.stages import eval as eval_stage, probe, rl, sft
from gpu_runner.stages.common import StageContext, encode_prompt, format_prompt, sft_batch
from gpu_runner.tasks import arithmetic as A


class RecordingClient:
    """Takes what the reporter posts, in memory."""

    def __init__(self):
        self.events, self.rollouts, self.checkpoints, self.traces, self.critiques = [], [], [], [], []

    def post_events(self, events):
        self.events.extend(events)
        return {"stored": len(events), "duplicates": 0, "runStatus": "RUNNING", "cancelRequested": False}

    def post_rollouts(self, rollouts):
        self.rollouts.extend(rollouts)

    def post_checkpoint(self, body):
        self.checkpoints.append(body)

    def post_traces(self, traces):
        self.traces.extend(traces)
        return {"inserted": len(traces), "existing": 0, "verified": len(traces), "rejected": 0}

    def post_critiques(self, critiques):
        self.critiques.extend(critiques)
        return {"inserted": len(critiques), "existing": 0, "verified": len(critiques)}


def _items(n, with_trace, levels=(1, 2), seed=0):
    out = []
    for i, p in enumerate(A.generate(n, seed=seed, levels=levels)):
        trace = {"id": f"T{i}", "kind": "TEACHER", "text": A.explicit_trace(p)} if with_trace else None
        out.append({"ordinal": i + 1, "sampleId": f"S{i}", "externalId": p.external_id, "problem": p.text,
                    "answer": str(p.answer), "trace": trace})
    return out


def _ctx(tmp_path, stage, config, items, with_model=True):
    torch.manual_seed(0)
    client = RecordingClient()
    rep = EventReporter(client, str(tmp_path), heartbeat_s=60).start()
    model = TinyBackend.new(TinyGPTConfig.preset("tiny"), torch.device("cpu")) if with_model else None
    ctx = StageContext(run_id="R1", stage=stage, config=parse_config(stage, config), items=items, model=model,
                       reporter=rep, work_dir=str(tmp_path))
    return ctx, client


def _params(model):
    return [p.detach().clone() for p in model.module.parameters()]


def _changed(before, model):
    return sum(not torch.equal(a, b) for a, b in zip(before, model.module.parameters()))


def _metrics(client):
    return [e["payload"] for e in client.events if e["type"] == "METRIC"]


def test_sft_steps_change_the_parameters_and_register_a_checkpoint_with_onnx_on_cpu(tmp_path):
    ctx, client = _ctx(tmp_path, "SFT", {"steps": 4, "batch_size": 8, "log_every": 2, "warmup_steps": 1},
                       _items(20, True))
    before = _params(ctx.model)
    result = sft.run(ctx)
    assert ctx.reporter.close(10)
    assert not result.cancelled
    assert _changed(before, ctx.model) == len(before)  # every parameter tensor moved
    m = _metrics(client)
    assert [x["step"] for x in m] == [2, 4] and all(x["train/loss"] > 0 and x["train/tokens_per_s"] > 0 for x in m)
    assert [e["payload"]["step"] for e in client.events if e["type"] == "PROGRESS"] == [2, 4]
    (ck,) = client.checkpoints
    assert ck["name"] == "sft-R1-step-4" and ck["baseModel"] == "tiny-gpt"
    assert os.path.exists(os.path.join(ck["uri"], "model.pt")) and os.path.getsize(ck["onnxUri"]) > 0
    assert [e["payload"]["kind"] for e in client.events if e["type"] == "ARTIFACT"] == ["checkpoint"]


def test_sft_epochs_size_the_run_to_the_data_within_steps_on_cpu(tmp_path):
    # 20 items, batch 8: 2 epochs = ceil(40 / 8) = 5 steps; `steps` stays the ceiling.
    for config, expected in [({"epochs": 2}, 5), ({"epochs": 50, "steps": 7}, 7), ({"steps": 3}, 3)]:
        ctx, client = _ctx(tmp_path, "SFT", {"batch_size": 8, "log_every": 1, "warmup_steps": 1,
                                             "save_onnx": False, **config}, _items(20, True))
        result = sft.run(ctx)
        assert ctx.reporter.close(10)
        assert result.summary["steps"] == expected
        assert [e["payload"]["step"] for e in client.events if e["type"] == "PROGRESS"][-1] == expected


def test_sft_puts_a_trace_hint_in_the_prompt_and_learns_only_the_rest_of_the_trace_on_cpu(tmp_path, monkeypatch):
    items = _items(6, True)
    for it in items[:3]:  # hint-bridged: the first half of the teacher trace goes into the prompt
        text = it["trace"]["text"]
        cut = len(text) // 2
        it["trace"] = dict(it["trace"], kind="BRIDGED", hint=text[:cut], text=text[cut:])
    items[3]["trace"]["hint"] = None  # a null hint is no hint
    seen = []

    def spy(examples, pad_id, prompt_weight, device):
        seen.extend(examples)
        return sft_batch(examples, pad_id, prompt_weight, device)

    monkeypatch.setattr(sft, "sft_batch", spy)
    ctx, _ = _ctx(tmp_path, "SFT", {"steps": 1, "batch_size": 6, "save_onnx": False, "prompt_loss_weight": 0.0},
                  items)
    sft.run(ctx)
    assert ctx.reporter.close(10)
    m = ctx.model
    by_prompt = {tuple(p): c for p, c in seen}
    assert len(by_prompt) == 6
    for it in items:
        hint = it["trace"].get("hint")
        prompt = m.encode(format_prompt(it["problem"]) + (hint or ""), bos=True)
        assert by_prompt[tuple(prompt)] == m.encode(it["trace"]["text"]) + [m.eos_id]
        if hint:
            assert prompt[-len(m.encode(hint)):] == m.encode(hint)  # the hint's tokens end the prompt part
        else:
            assert prompt == encode_prompt(m, it["problem"])  # unchanged without a hint
    # so the hint's tokens weigh prompt_loss_weight (0 here) and the rest of the trace 1
    p = m.encode(format_prompt(items[0]["problem"]) + items[0]["trace"]["hint"], bos=True)
    c = by_prompt[tuple(p)]
    _, _, weights = sft_batch([(p, c)], m.pad_id, 0.0, "cpu")
    assert weights[0, : len(p) - 1].sum() == 0 and weights[0, len(p) - 1:].sum() == len(c)


def test_sft_refuses_a_manifest_without_traces_on_cpu(tmp_path):
    ctx, _ = _ctx(tmp_path, "SFT", {"steps": 1}, _items(3, False))
    with pytest.raises(ValueError, match="SFT needs a trace on every manifest item"):
        sft.run(ctx)
    ctx.reporter.close(5)


def test_grpo_steps_change_the_parameters_when_rewards_differ_on_cpu(tmp_path, monkeypatch):
    # A random model almost never answers right: reward even-length completions so groups differ.
    monkeypatch.setattr(rl, "grade", lambda text, gold: Grade("1", len(text) % 2 == 0, float(len(text) % 2 == 0)))
    cfg = {"steps": 2, "prompts_per_step": 3, "group_size": 4, "max_new_tokens": 12, "log_every": 1,
           "post_rollouts": "all", "kl_coef": 0.05, "save_onnx": False}
    ctx, client = _ctx(tmp_path, "RL", cfg, _items(6, False))
    before = _params(ctx.model)
    result = rl.run(ctx)
    assert ctx.reporter.close(10)
    assert _changed(before, ctx.model) > 0
    m = _metrics(client)
    assert [x["step"] for x in m] == [1, 2]
    assert 0 < m[0]["train/reward_mean"] < 1 and m[0]["train/kept_groups"] == 3 and m[0]["train/kl"] >= 0
    assert len(client.rollouts) == 2 * 3 * 4 and len({r["key"] for r in client.rollouts}) == 24
    assert client.checkpoints[0]["onnxUri"] is None and result.summary["rollouts"] == 24


def test_grpo_harvests_prompts_whose_whole_group_scored_zero_on_cpu(tmp_path):
    cfg = {"steps": 1, "prompts_per_step": 2, "group_size": 2, "max_new_tokens": 6, "save_onnx": False}
    ctx, client = _ctx(tmp_path, "RL", cfg, _items(4, False, levels=(5,)))  # a random model fails them all
    before = _params(ctx.model)
    rl.run(ctx)
    assert ctx.reporter.close(10)
    arts = [e["payload"] for e in client.events if e["type"] == "ARTIFACT"]
    zero = [a for a in arts if a["kind"] == "zero_reward_groups"]
    assert len(zero) == 1 and len(zero[0]["samples"]) == 2
    assert {r["sampleId"] for r in client.rollouts} == {s["sampleId"] for s in zero[0]["samples"]}
    assert all(r["correct"] is False and r["reward"] == 0.0 for r in client.rollouts)
    assert _metrics(client)[0]["train/zero_group_frac"] == 1.0
    assert _changed(before, ctx.model) == 0  # zero advantages: nothing to learn


def test_dapo_dynamic_sampling_skips_groups_without_signal_on_cpu(tmp_path):
    cfg = {"steps": 1, "prompts_per_step": 2, "group_size": 2, "max_new_tokens": 4, "dynamic_sampling": True,
           "max_sampling_rounds": 2, "post_rollouts": "none", "save_onnx": False}
    ctx, client = _ctx(tmp_path, "RL", cfg, _items(4, False, levels=(5,)))
    rl.run(ctx)
    assert ctx.reporter.close(10)
    m = _metrics(client)[0]
    assert m["train/kept_groups"] == 0 and client.rollouts == []
    assert len([e for e in client.events if e["type"] == "ARTIFACT" and e["payload"]["kind"] == "zero_reward_groups"
                ][0]["payload"]["samples"]) == 4  # two rounds of two prompts


def test_probe_posts_k_graded_rollouts_per_problem_on_cpu(tmp_path):
    ctx, client = _ctx(tmp_path, "PROBE", {"k": 3, "batch_size": 4, "max_new_tokens": 8}, _items(6, False))
    probe.run(ctx)
    assert ctx.reporter.close(10)
    assert sorted(r["key"] for r in client.rollouts) == sorted(f"o{o}-k{j}" for o in range(1, 7) for j in range(3))
    r = client.rollouts[0]
    assert set(r) == {"sampleId", "key", "text", "finalAnswer", "correct", "reward", "graderVersion", "tokenCount"}
    assert [e["payload"]["step"] for e in client.events if e["type"] == "PROGRESS"] == [4, 6]
    m = _metrics(client)[0]
    assert m["probe/rollouts"] == 18 and m["probe/never_frac"] + m["probe/partly_frac"] + m["probe/always_frac"] == 1
    # The compute it used counts in an experiment's budget: every generated token, prompts at 1/3.
    generated = sum(r["tokenCount"] for r in client.rollouts)
    assert m["probe/mean_completion_tokens"] == generated / 18
    assert m["compute/tokens"] > generated


def test_eval_reports_greedy_accuracy_and_writes_results_on_cpu(tmp_path):
    ctx, client = _ctx(tmp_path, "EVAL", {"batch_size": 4, "max_new_tokens": 8}, _items(5, False))
    eval_stage.run(ctx)
    assert ctx.reporter.close(10)
    m = _metrics(client)[0]
    assert m["eval/problems"] == 5 and 0 <= m["eval/accuracy"] <= 1
    lines = (tmp_path / "eval_results.jsonl").read_text().splitlines()
    assert len(lines) == 5 and set(json.loads(lines[0])) >= {"sampleId", "text", "correct"}


def test_a_stage_stops_at_the_next_step_boundary_when_asked_on_cpu(tmp_path):
    ctx, client = _ctx(tmp_path, "SFT", {"steps": 50, "batch_size": 2}, _items(4, True))
    ctx.stop_event.set()
    result = sft.run(ctx)
    assert ctx.reporter.close(5)
    assert result.cancelled and result.summary == {"step": 0} and client.checkpoints == []
