"""The stages' maths on tiny hand-computed cases."""
import math

import pytest
import torch

from gpu_runner.losses import (aggregate, all_zero_groups, clipped_policy_loss, constant_groups, group_advantages,
                               kl_k3, masked_mean, token_logprobs, weighted_lm_loss)
from gpu_runner.stages.common import cosine_lr, rollout_batch, sft_batch


def test_group_advantages_subtract_the_group_mean_and_divide_by_its_std_on_cpu():
    r = torch.tensor([[1.0, 0.0, 0.0, 1.0], [1.0, 1.0, 1.0, 1.0]])
    adv = group_advantages(r, scale=True, eps=0.0)
    s = math.sqrt(1 / 3)  # unbiased std of (1, 0, 0, 1)
    assert torch.allclose(adv[0], torch.tensor([0.5, -0.5, -0.5, 0.5]) / s)
    assert torch.isnan(adv[1]).all()  # eps = 0 on a constant group: why the default eps exists
    adv = group_advantages(r)
    assert torch.equal(adv[1], torch.zeros(4))  # a constant group carries no signal
    assert torch.allclose(group_advantages(r, scale=False)[0], torch.tensor([0.5, -0.5, -0.5, 0.5]))


def test_clipped_loss_takes_the_pessimistic_side_of_the_clip_on_cpu():
    old = torch.zeros(4, 1)
    logp = torch.log(torch.tensor([[2.0], [2.0], [0.5], [0.5]]))  # ratios 2, 2, 0.5, 0.5
    adv = torch.tensor([1.0, -1.0, 1.0, -1.0])
    mask = torch.ones(4, 1)
    loss, stats = clipped_policy_loss(logp, old, adv, mask, 0.2, 0.2, "token-mean")
    # per token: max(-A r, -A clip(r)): A=1,r=2 -> -1.2; A=-1,r=2 -> 2; A=1,r=.5 -> -0.5; A=-1,r=.5 -> 0.8
    assert loss.item() == pytest.approx((-1.2 + 2.0 - 0.5 + 0.8) / 4, abs=1e-6)
    assert stats["clip_frac"] == pytest.approx(0.5)  # the first and the last token are clipped
    # clip-higher: a wider ceiling lets a positive advantage push further
    loss_hi, _ = clipped_policy_loss(logp[:1], old[:1], adv[:1], mask[:1], 0.2, 0.28)
    assert loss_hi.item() == pytest.approx(-1.28, abs=1e-6)


def test_clipped_loss_gradient_is_minus_the_advantage_at_ratio_one_on_cpu():
    logp = torch.zeros(2, 3, requires_grad=True)
    adv = torch.tensor([2.0, -1.0])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    loss, _ = clipped_policy_loss(logp, logp.detach(), adv, mask)
    loss.backward()
    # token-mean over 3 real tokens: d/dlogp = -A / 3 on real tokens, 0 on masked ones
    assert torch.allclose(logp.grad, torch.tensor([[-2 / 3, -2 / 3, 0.0], [1 / 3, 0.0, 0.0]]))


def test_masking_and_the_two_aggregations_differ_as_computed_by_hand_on_cpu():
    x = torch.tensor([[1.0, 2.0, 3.0], [10.0, 0.0, 99.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    assert aggregate(x, mask, "token-mean").item() == pytest.approx((1 + 2 + 3 + 10) / 4)
    assert aggregate(x, mask, "seq-mean-token-mean").item() == pytest.approx((2 + 10) / 2)
    assert masked_mean(x, torch.zeros_like(mask)).item() == 0.0
    assert torch.allclose(masked_mean(x, mask, dim=1), torch.tensor([2.0, 10.0]))


def test_kl_k3_is_zero_at_the_reference_and_matches_its_formula_on_cpu():
    lp = torch.tensor([[-1.0, -2.0]])
    assert torch.allclose(kl_k3(lp, lp), torch.zeros(1, 2))
    ref = lp + math.log(2.0)
    assert kl_k3(lp, ref)[0, 0].item() == pytest.approx(2 - math.log(2) - 1, abs=1e-6)


def test_zero_and_constant_groups_on_cpu():
    r = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    assert all_zero_groups(r).tolist() == [True, False, False]
    assert constant_groups(r).tolist() == [True, False, True]


def test_weighted_lm_loss_ignores_zero_weights_and_weighs_the_rest_on_cpu():
    V = 5
    logits = torch.zeros(1, 3, V)
    logits[0, 1, 2] = 10.0  # token 1 is confidently right; the others are uniform
    targets = torch.tensor([[0, 2, 4]])
    nll = -token_logprobs(logits, targets)[0]
    assert nll[0].item() == pytest.approx(math.log(V), abs=1e-5)
    w = torch.tensor([[0.5, 1.0, 0.0]])
    expected = (0.5 * nll[0] + 1.0 * nll[1]) / 1.5
    assert weighted_lm_loss(logits, targets, w).item() == pytest.approx(expected.item(), abs=1e-6)


def test_sft_batch_weighs_prompt_targets_less_and_padding_not_at_all_on_cpu():
    inputs, targets, weights = sft_batch([([1, 5, 6], [7, 2]), ([1, 5], [2])], pad_id=0, prompt_weight=0.5,
                                         device="cpu")
    assert inputs.tolist() == [[1, 5, 6, 7], [1, 5, 0, 0]]
    assert targets.tolist() == [[5, 6, 7, 2], [5, 2, 0, 0]]
    assert weights.tolist() == [[0.5, 0.5, 1.0, 1.0], [0.5, 1.0, 0.0, 0.0]]


def test_rollout_batch_left_pads_prompts_and_right_pads_completions_on_cpu():
    b = rollout_batch([[1, 5, 6], [1, 5]], [[7], [8, 9, 2]], pad_id=0, device="cpu")
    assert b.prompt_len == 3
    assert b.input_ids.tolist() == [[1, 5, 6, 7, 0, 0], [0, 1, 5, 8, 9, 2]]
    assert b.attention_mask.tolist() == [[True] * 4 + [False] * 2, [False] + [True] * 5]
    assert b.completion.tolist() == [[7, 0, 0], [8, 9, 2]]
    assert b.completion_mask.tolist() == [[1, 0, 0], [1, 1, 1]]


def test_cosine_schedule_warms_up_then_decays_to_the_floor_on_cpu():
    assert cosine_lr(1, 100, 1.0, 10, 0.1) == pytest.approx(0.1)
    assert cosine_lr(10, 100, 1.0, 10, 0.1) == pytest.approx(1.0)
    assert cosine_lr(100, 100, 1.0, 10, 0.1) == pytest.approx(0.1)
