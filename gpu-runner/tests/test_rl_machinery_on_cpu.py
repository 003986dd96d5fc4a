"""The RL machinery, pinned by tests that can fail (issue 11): the log-probabilities the loss uses are
the sampling policy's, the ratio starts at exactly 1, the loss pushes the right way with the
documented normalisation, and an update with no signal leaves a trained model where it was."""
import copy
import dataclasses
import random

import pytest
import torch

from gpu_runner.client import EventReporter
from gpu_runner.config import parse_config
from gpu_runner.grading import Grade, grade
from gpu_runner.losses import clipped_policy_loss, group_advantages
from gpu_runner.models.tiny_gpt import TinyBackend, TinyGPTConfig
from gpu_runner.rewards import arithmetic_problem, steps_all_right
from gpu_runner.stages import rl, sft
from gpu_runner.stages.common import StageContext, completion_logprobs, encode_prompt, rollout_batch, with_eos
from gpu_runner.tasks import arithmetic as A
from test_stages_on_cpu import RecordingClient


def _model(seed=0, dropout=0.0, spread=None):
    """A tiny GPT; `spread` redraws its matrices with that std so its distributions are far from
    uniform (at the default init every temperature gives nearly the same log-probs)."""
    torch.manual_seed(seed)
    cfg = dataclasses.replace(TinyGPTConfig.preset("tiny"), dropout=dropout)
    m = TinyBackend.new(cfg, torch.device("cpu"))
    if spread is not None:
        with torch.no_grad():
            for p in m.module.parameters():
                if p.dim() >= 2:
                    p.normal_(0.0, spread)
    return m


def _ctx(tmp_path, stage, config, items, model):
    rep = EventReporter(RecordingClient(), str(tmp_path), heartbeat_s=60).start()
    return StageContext(run_id="R1", stage=stage, config=parse_config(stage, config), items=items, model=model,
                        reporter=rep, work_dir=str(tmp_path))


def _metrics(ctx):
    return [e["payload"] for e in ctx.reporter.client.events if e["type"] == "METRIC"]


def _arith_items(n, levels=(1, 2)):
    return [{"ordinal": i + 1, "sampleId": f"S{i}", "externalId": p.external_id, "problem": p.text,
             "answer": str(p.answer), "trace": None} for i, p in enumerate(A.generate(n, seed=0, levels=levels))]


# ---- 1. log-probabilities: sampling time == the loss's full forward pass ----

def test_sampling_time_logprobs_equal_the_full_forward_pass_at_temperature_on_cpu():
    m = _model(spread=0.3)
    T = 0.7
    # prompts of different lengths (left padding), completions of different lengths (right padding)
    prompts = [m.encode(t, bos=True) for t in ("Ann has 3 pens.\n", "x\n", "12+7=\n", "a much longer prompt here\n")]
    prompts = [p for p in prompts for _ in range(3)]
    torch.manual_seed(1)
    completions, sampled = m.generate_with_logprobs(prompts, 16, T)
    stopped = [len(c) < 16 for c in completions]
    assert any(stopped) and not all(stopped)  # rows that sampled EOS and rows cut at max_new_tokens
    assert len({len(c) for c in completions}) > 2
    seqs = [with_eos(c, m.eos_id, 16) for c in completions]
    assert [len(s) for s in seqs] == [len(lp) for lp in sampled]  # EOS's log-prob is recorded too
    batch = rollout_batch(prompts, seqs, m.pad_id, "cpu")
    with torch.no_grad():
        full = completion_logprobs(m, batch, T)  # (B, C)
        at_one = completion_logprobs(m, batch, 1.0)
    gap = max(abs(full[b, t].item() - lp) for b, row in enumerate(sampled) for t, lp in enumerate(row))
    assert gap < 1e-5
    # The same forward pass at temperature 1 is far off: what the loss used before the fix.
    mask = batch.completion_mask.bool()
    assert (full - at_one).abs()[mask].max().item() > 0.5


def test_sampling_time_logprobs_of_greedy_decoding_are_the_temperature_one_ones_on_cpu():
    m = _model(spread=0.3)
    prompts = [m.encode("Ann has 3 pens.\n", bos=True), m.encode("x\n", bos=True)]
    completions, sampled = m.generate_with_logprobs(prompts, 10, 0.0)
    batch = rollout_batch(prompts, [with_eos(c, m.eos_id, 10) for c in completions], m.pad_id, "cpu")
    with torch.no_grad():
        full = completion_logprobs(m, batch, 0.0)
    for b, row in enumerate(sampled):
        assert torch.allclose(full[b, : len(row)], torch.tensor(row), atol=1e-5)


# ---- 2. the importance ratio at the first optimisation step ----

def _spy_on_the_loss(monkeypatch):
    seen = []
    real = rl.clipped_policy_loss

    def spy(logp, old_logp, *args, **kwargs):
        seen.append((logp.detach().clone(), old_logp.clone()))
        return real(logp, old_logp, *args, **kwargs)

    monkeypatch.setattr(rl, "clipped_policy_loss", spy)
    return seen


@pytest.mark.parametrize("dropout", [0.0, 0.5])
def test_the_ratio_is_exactly_one_at_the_first_step_even_with_dropout_on_cpu(tmp_path, monkeypatch, dropout):
    # A random model almost never answers right: reward even-length completions so groups differ.
    monkeypatch.setattr(rl, "grade", lambda text, gold: Grade("1", len(text) % 2 == 0, float(len(text) % 2 == 0)))
    seen = _spy_on_the_loss(monkeypatch)
    cfg = {"steps": 1, "prompts_per_step": 3, "group_size": 4, "max_new_tokens": 10, "temperature": 0.7,
           "ppo_epochs": 2, "lr": 1e-3, "post_rollouts": "none", "save_onnx": False, "log_every": 1}
    model = _model(dropout=dropout, spread=0.1)
    model.module.train()  # as after SFT: the stage must not sample in one mode and update in another
    ctx = _ctx(tmp_path, "RL", cfg, _arith_items(6), model)
    rl.run(ctx)
    assert ctx.reporter.close(10)
    (logp1, old1), (logp2, old2) = seen
    assert torch.equal(logp1, old1)  # exactly: the same forward pass, the same mode, the same temperature
    assert torch.equal(old2, old1) and not torch.equal(logp2, old2)  # the second epoch sees the update
    m = _metrics(ctx)[0]
    assert m["train/logp_gap"] < 1e-5  # the recomputed old log-probs are the sampling policy's
    assert m["train/grad_norm"] > 0 and m["train/lr"] == 1e-3


# ---- 3. the loss's sign and normalisation ----

def test_one_step_raises_the_rewarded_completions_and_lowers_the_others_on_cpu():
    m = _model(spread=0.1)
    prompt = m.encode("Ann has 3 pens.\n", bos=True)
    completions = [m.encode(t) + [m.eos_id] for t in ("3+4=7. Answer: 7", "zz", "Answer: 7", "qqqq qq")]
    rewards = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    adv = group_advantages(rewards).reshape(-1)  # (4,)
    batch = rollout_batch([prompt] * 4, completions, m.pad_id, "cpu")
    m.module.eval()
    with torch.no_grad():
        before = (completion_logprobs(m, batch) * batch.completion_mask).sum(1)  # (4,) sequence log-probs
    logp = completion_logprobs(m, batch)
    loss, _ = clipped_policy_loss(logp, logp.detach(), adv, batch.completion_mask)
    opt = torch.optim.SGD(m.module.parameters(), lr=0.05)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        after = (completion_logprobs(m, batch) * batch.completion_mask).sum(1)
    delta = after - before
    assert delta[0] > 0 and delta[2] > 0  # positively rewarded: more likely
    assert delta[1] < 0 and delta[3] < 0  # negatively rewarded: less likely


def test_seq_mean_token_mean_weighs_each_sequence_the_same_and_token_mean_each_token_on_cpu():
    mask = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 0.0, 0.0, 0.0]])  # 4 tokens and 1 token
    adv = torch.tensor([1.0, 1.0])
    for mode, want in (("token-mean", [[-1 / 5] * 4, [-1 / 5, 0, 0, 0]]),
                       ("seq-mean-token-mean", [[-1 / 8] * 4, [-1 / 2, 0, 0, 0]])):
        logp = torch.zeros(2, 4, requires_grad=True)
        loss, _ = clipped_policy_loss(logp, logp.detach(), adv, mask, mode=mode)
        loss.backward()
        assert torch.allclose(logp.grad, torch.tensor(want)), mode


def test_a_group_with_zero_reward_std_gives_zero_advantage_zero_gradient_and_no_nan_on_cpu():
    for value in (0.0, 1.0):
        adv = group_advantages(torch.full((1, 4), value)).reshape(-1)
        assert torch.equal(adv, torch.zeros(4))
        logp = torch.randn(4, 3, requires_grad=True)
        loss, stats = clipped_policy_loss(logp, logp.detach(), adv, torch.ones(4, 3))
        loss.backward()
        assert loss.item() == 0.0 and torch.equal(logp.grad, torch.zeros(4, 3))
        assert all(v == v for v in stats.values())  # no NaN


# ---- 4. the step-checking reward ----

def test_the_steps_reward_pays_only_right_steps_that_reach_the_right_answer_on_cpu():
    text = "Eve has 8 shells. She uses 2, then buys 14, then wins 8. How many shells does Eve have?"
    p = arithmetic_problem(text, "28")
    assert p is not None and arithmetic_problem(text, "29") is None and arithmetic_problem("2+2", "4") is None
    assert steps_all_right(p, "8-2=6. 6+14=20. 20+8=28. Answer: 28")
    assert steps_all_right(p, "8-2+14+8=28. Answer: 28")  # several operations in one step, all right
    assert not steps_all_right(p, "8-2=6. 6+14=21. 21+8=28. Answer: 28")  # lucky: a wrong step, right answer
    assert not steps_all_right(p, "8-2=6. 6+14=20. Answer: 28")  # stops before the last operation
    assert not steps_all_right(p, "8-2=6. 6+8=14. 14+14=28. Answer: 28")  # operations out of order
    assert not steps_all_right(p, "Answer: 28")


def test_rl_with_the_steps_reward_pays_the_step_check_and_reports_both_rates_on_cpu(tmp_path, monkeypatch):
    items = _arith_items(4, levels=(2,))
    # Every completion "answers right"; the step check decides its reward from the text.
    monkeypatch.setattr(rl, "grade", lambda text, gold: Grade(gold, True, 1.0))
    monkeypatch.setattr(rl, "steps_all_right", lambda problem, text: len(text) % 2 == 0)
    cfg = {"steps": 1, "prompts_per_step": 4, "group_size": 4, "max_new_tokens": 8, "reward": "steps",
           "post_rollouts": "all", "save_onnx": False}
    ctx = _ctx(tmp_path, "RL", cfg, items, _model())
    rl.run(ctx)
    assert ctx.reporter.close(10)
    m = _metrics(ctx)[0]
    rollouts = ctx.reporter.client.rollouts
    paid = [r["reward"] for r in rollouts]
    assert paid == [float(len(r["text"]) % 2 == 0) for r in rollouts] and 0 < sum(paid) < len(paid)
    assert m["train/accuracy"] == 1.0  # the final-answer check's rate
    assert m["train/reward_mean"] == pytest.approx(sum(paid) / len(paid))  # the reward the update used
    assert m["train/wrong_steps_frac"] == pytest.approx(1 - sum(paid) / len(paid))


def test_rl_with_the_steps_reward_refuses_prompts_that_are_not_the_built_in_task_on_cpu(tmp_path):
    items = [{"ordinal": 1, "sampleId": "S0", "externalId": "q-1", "problem": "What is 2+2?", "answer": "4"}]
    ctx = _ctx(tmp_path, "RL", {"steps": 1, "reward": "steps", "save_onnx": False}, items, _model())
    with pytest.raises(ValueError, match="reward 'steps'.*q-1"):
        rl.run(ctx)
    ctx.reporter.close(5)


# ---- 5. a null control: shuffled rewards at the shipped defaults leave held-out accuracy alone ----

def _addition_items(pairs, tag):
    return [{"ordinal": i + 1, "sampleId": f"{tag}{i}", "externalId": f"{tag}{i}", "problem": f"{a}+{b}",
             "answer": str(a + b), "trace": {"id": f"T{tag}{i}", "kind": "TEACHER", "text": str(a + b)}}
            for i, (a, b) in enumerate(pairs)]


def _greedy_accuracy(model, items):
    outs = model.generate([encode_prompt(model, it["problem"]) for it in items], 4, 0.0)
    return sum(grade(model.decode(o), it["answer"]).correct for o, it in zip(outs, items)) / len(items)


@pytest.fixture
def one_thread():
    """Matrices this small gain nothing from a second thread, and lose much on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_shuffled_rewards_at_the_shipped_defaults_leave_held_out_accuracy_within_noise_on_cpu(tmp_path, monkeypatch,
                                                                                             one_thread):
    # A task the tiny GPT learns in seconds: "a+b" -> a+b for a < 40, b < 10; 300 pairs to train
    # on, 100 held out. 400 SFT steps reach ~60% held-out greedy accuracy: room to fall and to rise.
    pairs = [(a, b) for a in range(40) for b in range(10)]
    random.Random(0).shuffle(pairs)
    held_out, train = _addition_items(pairs[:100], "e"), _addition_items(pairs[100:], "t")
    torch.manual_seed(0)
    model = TinyBackend.new(TinyGPTConfig.preset("tiny"), torch.device("cpu"))
    ctx = _ctx(tmp_path, "SFT", {"steps": 400, "lr": 3e-3, "warmup_steps": 10, "save_onnx": False,
                                 "log_every": 1000}, train, model)
    sft.run(ctx)
    ctx.reporter.close(5)
    trained = copy.deepcopy(model.module.state_dict())
    before = _greedy_accuracy(model, held_out)
    assert 0.3 <= before <= 0.9

    # The null: each step's rewards shuffled across all its completions before the advantages, so
    # the reward rate is the real one and the signal is none.
    real = rl.group_advantages
    perm = torch.Generator().manual_seed(1)

    def shuffled(rewards, scale=True):
        flat = rewards.reshape(-1)
        return real(flat[torch.randperm(flat.numel(), generator=perm)].view_as(rewards), scale=scale)

    monkeypatch.setattr(rl, "group_advantages", shuffled)

    def null_run(extra):
        model.module.load_state_dict(trained)
        torch.manual_seed(0)
        cfg = {"steps": 20, "max_new_tokens": 4, "post_rollouts": "none", "save_onnx": False, "log_every": 1000,
               **extra}  # prompts_per_step, group_size, lr, clip, warmup: the shipped defaults
        ctx = _ctx(tmp_path, "RL", cfg, train, model)
        rl.run(ctx)
        ctx.reporter.close(5)
        return _greedy_accuracy(model, held_out)

    after = null_run({})
    # Tolerance: 5 points, about one standard error of an accuracy near 60% on 100 problems
    # (sqrt(.6 * .4 / 100) = 4.9 points), the smallest change this eval set can tell from chance.
    # Measured: 61% -> 59% at lr 1e-5; the old default 1e-4 fell to 30% (checked below).
    assert abs(after - before) <= 0.05, (before, after)
    # The same null at the old default step size does the damage the issue found: the test can fail.
    assert null_run({"lr": 1e-4}) < before - 0.15
