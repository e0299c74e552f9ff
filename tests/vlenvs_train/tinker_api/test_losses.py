"""Tinker's losses on the trainer's loss code: hand-computed values, masking of unused positions, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from vlenvs.core.errors import RequestError  # noqa: E402
from vlenvs_train.tinker_api.losses import check_request, compute_loss  # noqa: E402


def right_aligned(rows):
    width = max(len(r) for r in rows)
    logp = torch.zeros((len(rows), width))
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for b, r in enumerate(rows):
        logp[b, width - len(r):] = torch.as_tensor(r, dtype=torch.float32)
        mask[b, width - len(r):] = True
    return logp, mask


def test_cross_entropy_is_the_weighted_sum_and_ignores_unweighted_impossible_targets():
    logp, mask = right_aligned([[-float("inf"), -1.0, -2.0], [-0.5]])  # position 0: a banned token, weight 0
    inputs = [{"target_tokens": np.array([1, 2, 3]), "weights": np.array([0.0, 1.0, 0.5], np.float32)},
              {"target_tokens": np.array([4])}]  # weights default to 1
    loss, per_position = compute_loss("cross_entropy", {}, logp, mask, inputs)
    assert float(loss) == pytest.approx(1.0 + 1.0 + 0.5)
    assert torch.isfinite(per_position).all()


def test_importance_sampling_and_ppo_match_hand_computed_values():
    lp, s, a = [-1.0, -2.0], [-1.5, -1.0], [2.0, -1.0]
    logp, mask = right_aligned([lp])
    inputs = [{"target_tokens": np.array([1, 2]), "logprobs": np.array(s, np.float32),
               "advantages": np.array(a, np.float32)}]
    ratios = [math.exp(x - y) for x, y in zip(lp, s)]  # e^0.5 = 1.65, e^-1 = 0.37
    is_loss, _ = compute_loss("importance_sampling", {}, logp, mask, inputs)
    assert float(is_loss) == pytest.approx(-(ratios[0] * 2.0 + ratios[1] * -1.0), rel=1e-6)
    config = check_request("ppo", {}, [inputs[0]], [2], vocab_size=10)
    ppo_loss, _ = compute_loss("ppo", config, logp, mask, inputs)
    # A > 0: min(r A, clip(r) A) = 1.2 * 2; A < 0: min(r A, clip(r) A) = 0.8 * -1 (the pessimistic one)
    assert float(ppo_loss) == pytest.approx(-(1.2 * 2.0 + 0.8 * -1.0), rel=1e-6)


@pytest.mark.parametrize("loss_fn, config, inputs, message", [
    ("dro", {}, {"target_tokens": np.array([1])}, "valid choices: cross_entropy"),
    ("ppo", {"beta": 1.0}, {}, "not used by 'ppo'"),
    ("ppo", {"clip_low_threshold": 1.5}, {}, "clip_low_threshold"),
    ("importance_sampling", {}, {"target_tokens": np.array([1])}, "missing ['logprobs', 'advantages']"),
    ("cross_entropy", {}, {"target_tokens": np.array([1, 2])}, "must be [1]"),
    ("cross_entropy", {}, {"target_tokens": np.array([11])}, "0..9"),
    ("cross_entropy", {}, {"target_tokens": np.array([1]), "weights": np.array([np.nan])}, "NaN"),
])
def test_bad_requests_name_what_is_wrong(loss_fn, config, inputs, message):
    base = {"target_tokens": np.array([1]), "logprobs": np.zeros(1), "advantages": np.ones(1)}
    d = inputs if loss_fn != "ppo" or inputs else {**base}
    with pytest.raises(RequestError, match=message.replace("[", r"\[").replace("]", r"\]")):
        check_request(loss_fn, config, [d], [1], vocab_size=10)
