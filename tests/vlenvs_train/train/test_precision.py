"""fp32 master weights: a bf16 model stepped by plain AdamW at a small learning rate barely moves; on masters it
follows fp32 training."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from vlenvs_train.train.precision import MasterWeightAdamW  # noqa: E402

from .test_trainer_state import changed_fraction  # noqa: E402


def test_plain_bf16_adamw_barely_moves_but_master_weights_follow_fp32():
    torch.manual_seed(0)
    ref = torch.nn.Linear(64, 64)
    models = {k: torch.nn.Linear(64, 64) for k in ("fp32", "bf16_plain", "bf16_master")}
    for name, m in models.items():
        m.load_state_dict(ref.state_dict())
        if name != "fp32":
            m.to(torch.bfloat16)
    opts = {"fp32": torch.optim.AdamW(models["fp32"].parameters(), lr=1e-6),
            "bf16_plain": torch.optim.AdamW(models["bf16_plain"].parameters(), lr=1e-6),
            "bf16_master": MasterWeightAdamW(models["bf16_master"].parameters(), lr=1e-6)}
    x = torch.randn(16, 64)
    for _ in range(10):
        for name, m in models.items():
            m(x.to(next(m.parameters()).dtype)).square().mean().backward()
            opts[name].step()
            opts[name].zero_grad()
    before = list(ref.parameters())
    fp32 = changed_fraction(before, list(models["fp32"].parameters()))
    plain = changed_fraction([p.to(torch.bfloat16) for p in before], list(models["bf16_plain"].parameters()))
    master = changed_fraction(before, opts["bf16_master"].master)
    assert fp32 > 0.9 and master > 0.9 and plain < 0.2
    for r, a, b in zip(before, models["fp32"].parameters(), opts["bf16_master"].master):
        step_fp32, step_master = a - r, b - r.to(torch.bfloat16).float()  # the masters start at bf16 values
        # the same steps, up to the noise of bf16 forward/backward passes
        assert float((step_master - step_fp32).detach().norm() / step_fp32.detach().norm()) < 0.1


def test_masters_carry_over_to_the_next_stage_instead_of_being_rounded_to_bf16():
    """GRPO's optimizer starts from SFT's fp32 masters, not from the model's bf16-rounded weights."""
    from vlenvs_train.train.precision import make_optimizer

    torch.manual_seed(0)
    model = torch.nn.Linear(32, 32).to(torch.bfloat16)
    sft = make_optimizer(model, 1e-3, 0.0)
    assert isinstance(sft, MasterWeightAdamW)
    for _ in range(3):
        model(torch.randn(4, 32, dtype=torch.bfloat16)).square().mean().backward()
        sft.step()
        sft.zero_grad()
    exact = [m.detach().clone() for m in sft.master]
    assert any(not torch.equal(m, p.float()) for m, p in zip(exact, model.parameters()))  # bf16 lost bits
    rl = make_optimizer(model, 1e-4, 0.1, previous=sft)
    assert all(torch.equal(a, b) for a, b in zip(rl.master, exact))
    assert all(g["lr"] == 1e-4 and g["weight_decay"] == 0.1 for g in rl.param_groups)
    fresh = make_optimizer(model, 1e-4, 0.1)  # no previous stage: the masters start at the model's weights
    assert all(torch.equal(a, p.float()) for a, p in zip(fresh.master, model.parameters()))
