"""GRPO's pieces: group-normalised advantages, truncated importance weights, the clipped token loss."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from vlenvs.core.errors import InvalidConfigError  # noqa: E402
from vlenvs_train.algos.grpo import (  # noqa: E402
    clipped_surrogate,
    group_advantages,
    grpo_token_loss,
    k3_kl,
    returns_to_go,
    right_align,
    sft_token_loss,
    truncated_importance_weights,
    turn_advantages,
)


@given(st.lists(st.floats(-10, 10), min_size=2, max_size=12), st.integers(1, 3))
def test_group_advantages_are_centred_and_scaled_per_group(returns, k):
    r = np.asarray(returns)
    groups = np.arange(len(r)) % k
    adv = group_advantages(r, groups)
    for g in np.unique(groups):
        sel = groups == g
        centred = r[sel] - r[sel].mean()
        assert abs(adv[sel].mean()) < 1e-6
        if r[sel].std() > 1e-3:
            assert abs(adv[sel].std() - 1) < 1e-3
            big = np.abs(centred) > 1e-6
            assert np.all(np.sign(adv[sel][big]) == np.sign(centred[big]))


def test_equal_returns_give_no_signal_and_centring_only_mode():
    np.testing.assert_array_equal(group_advantages([1.0, 1.0, 1.0], [0, 0, 0]), 0.0)
    np.testing.assert_allclose(group_advantages([0.0, 1.0, 3.0, 5.0], [0, 0, 1, 1], scale="none"),
                               [-0.5, 0.5, -1.0, 1.0])
    with pytest.raises(InvalidConfigError, match="'max'.*std"):
        group_advantages([1.0], [0], scale="max")


def test_episode_and_per_turn_advantages():
    rewards = [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]]
    ep = turn_advantages(rewards, [0, 0], "episode")
    assert ep[0].tolist() == [ep[0][0]] * 3 and ep[0][0] > 0 > ep[1][0]
    np.testing.assert_allclose(returns_to_go([1.0, 0.0, 1.0], gamma=0.5), [1.25, 0.5, 1.0])
    turn = turn_advantages([[1.0, 0.0], [0.0, 0.0]], [0, 0], "turn", scale="none")
    np.testing.assert_allclose(np.concatenate(turn), np.array([1.0, 0.0, 0.0, 0.0]) - 0.25)
    with pytest.raises(InvalidConfigError, match="'step'"):
        turn_advantages(rewards, [0, 0], "step")


def test_right_align_pads_on_the_left():
    t = right_align([np.array([1.0, 2.0]), np.array([3.0])], 3)
    assert t.tolist() == [[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]]


def test_truncated_importance_weights_token_and_sequence():
    mask = torch.tensor([[False, True, True]])
    old = torch.log(torch.tensor([[1.0, 0.9, 0.5]]))
    beh = torch.log(torch.tensor([[1.0, 0.3, 0.5]]))
    tok = truncated_importance_weights(old, beh, mask, "token", cap=2.0)
    np.testing.assert_allclose(tok.numpy(), [[0.0, 2.0, 1.0]], atol=1e-6)  # 3.0 capped at 2
    seq = truncated_importance_weights(old, beh, mask, "sequence", cap=10.0)
    np.testing.assert_allclose(seq.numpy(), [[0.0, 3.0, 3.0]], atol=1e-5)
    assert truncated_importance_weights(old, beh, mask, "none").eq(1).all()
    with pytest.raises(InvalidConfigError):
        truncated_importance_weights(old, beh, mask, "turn")


def test_clip_stops_the_gradient_only_past_the_trust_region():
    old = torch.zeros(1, 1)
    for adv, logp_value, moves in [(1.0, 0.5, False), (-1.0, 0.5, True), (-1.0, -0.5, False), (1.0, -0.5, True)]:
        logp = torch.full((1, 1), logp_value, requires_grad=True)
        obj, _ = clipped_surrogate(logp, old, torch.tensor([adv]), 0.2, 0.2)
        obj.sum().backward()
        assert (abs(float(logp.grad)) > 0) == moves, (adv, logp_value)


def test_on_policy_loss_gradient_is_the_policy_gradient():
    logits = torch.randn(2, 3, 5, requires_grad=True)
    targets = torch.tensor([[1, 2, 3], [0, 4, 4]])
    mask = torch.tensor([[True, True, True], [False, True, True]])
    logp = torch.log_softmax(logits, -1).gather(-1, targets[..., None]).squeeze(-1)
    adv = torch.tensor([1.5, -0.5])
    loss, stats = grpo_token_loss(logp, mask, old_logp=logp.detach(), behaviour_logp=logp.detach(), advantages=adv)
    loss.backward()
    grad = logits.grad.clone()
    logits.grad = None
    logp2 = torch.log_softmax(logits, -1).gather(-1, targets[..., None]).squeeze(-1)
    (-(logp2 * adv[:, None]).masked_fill(~mask, 0).sum() / mask.sum()).backward()
    torch.testing.assert_close(grad, logits.grad)
    assert stats["clip_frac"] == 0 and stats["is_weight"] == pytest.approx(1.0) and stats["tokens"] == 5


def test_kl_and_sft_losses():
    a = torch.log(torch.tensor([[0.2, 0.5]]))
    assert k3_kl(a, a).abs().max() < 1e-7
    assert (k3_kl(a, torch.log(torch.tensor([[0.6, 0.1]]))) > 0).all()
    mask = torch.tensor([[False, True]])
    assert float(sft_token_loss(a, mask)) == pytest.approx(-np.log(0.5))
    loss, stats = grpo_token_loss(a.clone().requires_grad_(), mask, old_logp=a, behaviour_logp=a,
                                  advantages=torch.zeros(1), ref_logp=a + 0.1, kl_coef=1.0)
    assert stats["kl"] > 0 and float(loss.detach()) > 0
