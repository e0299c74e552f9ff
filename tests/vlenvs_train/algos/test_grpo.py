"""GRPO's pieces: group-normalised advantages, truncated importance weights, the clipped token loss."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from vlenvs.core.errors import InvalidConfigError  # noqa: E402
from vlenvs_train.algos.grpo import (  # noqa: E402
    LOSS_AGGS,
    clipped_surrogate,
    group_advantages,
    grpo_token_loss,
    importance_ratios,
    k3_kl,
    loss_normalizer,
    returns_to_go,
    right_align,
    sft_token_loss,
    signal_fraction,
    truncated_importance_weights,
    turn_advantages,
    turn_loss_weights,
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


def test_signal_fraction_counts_groups_with_unequal_returns():
    assert signal_fraction(np.array([1.0, 1.0, 0.0, 1.0, 0.5, 0.5]), np.array([0, 0, 1, 1, 2, 2])) == pytest.approx(1 / 3)
    assert signal_fraction(np.zeros(4), np.array([0, 0, 1, 1])) == 0.0
    assert signal_fraction(np.zeros(0), np.zeros(0)) == 0.0


def episode_shares(lengths, episodes, mode, constant=None):
    """Each episode's share of the loss: the sum over its turns of weight * length / normaliser."""
    w = turn_loss_weights(lengths, episodes, mode)
    norm = loss_normalizer(w, lengths, mode, constant)
    return {e: float(sum(w[i] * lengths[i] for i in range(len(lengths)) if episodes[i] == e) / norm)
            for e in sorted(set(episodes))}


def test_loss_weights_of_a_3_turn_success_and_an_8_turn_failure():
    lengths, episodes = [2] * 3 + [2] * 8, [0] * 3 + [1] * 8  # 2 tokens per turn
    assert episode_shares(lengths, episodes, "token_mean") == pytest.approx({0: 6 / 22, 1: 16 / 22})  # 8/3
    assert episode_shares(lengths, episodes, "turn_mean") == pytest.approx({0: 3 / 11, 1: 8 / 11})
    assert episode_shares(lengths, episodes, "episode_mean") == pytest.approx({0: 0.5, 1: 0.5})
    # Dr. GRPO: 2 episodes x 20 tokens an episode can have
    assert episode_shares(lengths, episodes, "token_sum_norm", 40.0) == pytest.approx({0: 6 / 40, 1: 16 / 40})


def test_loss_weights_per_token_with_unequal_turns():
    lengths, episodes = [1, 3, 4], [7, 7, 2]
    np.testing.assert_allclose(turn_loss_weights(lengths, episodes, "token_mean"), [1, 1, 1])
    np.testing.assert_allclose(turn_loss_weights(lengths, episodes, "turn_mean"), [1, 1 / 3, 1 / 4])
    np.testing.assert_allclose(turn_loss_weights(lengths, episodes, "episode_mean"), [1 / 4, 1 / 4, 1 / 4])
    np.testing.assert_allclose(turn_loss_weights(lengths, episodes, "token_sum_norm"), [1, 1, 1])
    assert loss_normalizer(np.ones(3), lengths, "token_mean") == 8
    assert loss_normalizer(turn_loss_weights(lengths, episodes, "turn_mean"), lengths, "turn_mean") == 3
    assert loss_normalizer(turn_loss_weights(lengths, episodes, "episode_mean"), lengths, "episode_mean") == 2
    assert loss_normalizer(np.ones(3), lengths, "token_sum_norm", 100.0) == 100
    with pytest.raises(ValueError, match="constant"):
        loss_normalizer(np.ones(3), lengths, "token_sum_norm")
    with pytest.raises(InvalidConfigError, match="'seq_mean'.*token_mean"):
        turn_loss_weights(lengths, episodes, "seq_mean")


@pytest.mark.parametrize("mode", LOSS_AGGS)
def test_micro_batches_accumulate_to_the_whole_batch_gradient(mode):
    gen = torch.Generator().manual_seed(0)
    lengths = [3, 1, 4, 2, 5, 2]
    episodes = [0, 0, 1, 2, 2, 2]
    width = max(lengths)
    mask = torch.arange(width)[None, :] >= (width - torch.tensor(lengths))[:, None]
    logits = torch.randn(len(lengths), width, 7, generator=gen, requires_grad=True)
    targets = torch.randint(0, 7, (len(lengths), width), generator=gen)
    old = torch.log_softmax(torch.randn(len(lengths), width, 7, generator=gen), -1).gather(-1, targets[..., None])[..., 0]
    behaviour = old + 0.1 * torch.randn(old.shape, generator=gen)
    adv = torch.tensor([1.0, 1.0, -0.5, 0.7, 0.7, 0.7])
    weights = torch.as_tensor(turn_loss_weights(lengths, episodes, mode), dtype=torch.float32)
    norm = loss_normalizer(weights.numpy(), lengths, mode, constant=60.0)

    def grad(parts):
        logits.grad = None
        for part in parts:
            logp = torch.log_softmax(logits[part], -1).gather(-1, targets[part][..., None])[..., 0]
            loss, _ = grpo_token_loss(logp, mask[part], old_logp=old[part], behaviour_logp=behaviour[part],
                                      advantages=adv[part], normalizer=norm, turn_weights=weights[part])
            loss.backward()
        return logits.grad.clone()

    whole = grad([list(range(6))])
    assert whole.abs().sum() > 0
    for parts in ([[0], [1], [2], [3], [4], [5]], [[0, 1, 2], [3, 4, 5]], [[5, 0], [3, 1, 4], [2]]):
        torch.testing.assert_close(grad(parts), whole, atol=1e-7, rtol=1e-5)


def test_weighted_loss_is_the_weighted_policy_gradient():
    """On policy the loss's gradient is -sum_b w_b A_b grad log pi(turn b) / normaliser."""
    logits = torch.randn(2, 3, 5, requires_grad=True)
    targets = torch.tensor([[1, 2, 3], [0, 4, 4]])
    mask = torch.tensor([[True, True, True], [False, True, True]])
    logp = torch.log_softmax(logits, -1).gather(-1, targets[..., None]).squeeze(-1)
    adv, w = torch.tensor([1.5, -0.5]), torch.tensor([1 / 3, 1 / 2])
    loss, _ = grpo_token_loss(logp, mask, old_logp=logp.detach(), behaviour_logp=logp.detach(), advantages=adv,
                              turn_weights=w, normalizer=2.0)
    loss.backward()
    grad = logits.grad.clone()
    logits.grad = None
    logp2 = torch.log_softmax(logits, -1).gather(-1, targets[..., None]).squeeze(-1)
    (-(logp2 * (w * adv)[:, None]).masked_fill(~mask, 0).sum() / 2.0).backward()
    torch.testing.assert_close(grad, logits.grad)


def test_importance_weight_statistics_report_the_untruncated_max():
    mask = torch.tensor([[False, True, True]])
    old = torch.log(torch.tensor([[1.0, 0.9, 0.5]]))
    beh = torch.log(torch.tensor([[1.0, 0.3, 0.5]]))
    np.testing.assert_allclose(importance_ratios(old, beh, mask).numpy(), [[0.0, 3.0, 1.0]], atol=1e-6)
    _, stats = grpo_token_loss(old.clone().requires_grad_(), mask, old_logp=old, behaviour_logp=beh,
                               advantages=torch.ones(1), is_cap=2.0)
    assert stats["is_weight"] == pytest.approx(1.5) and stats["is_weight_max"] == pytest.approx(3.0)
