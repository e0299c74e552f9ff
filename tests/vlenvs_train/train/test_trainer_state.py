"""Trainer state you can trust: fallback past a corrupted checkpoint with the KL reference kept, evaluations that
do not touch training, bf16 training on fp32 master weights."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs_train.train import checkpoint  # noqa: E402
from vlenvs_train.train.checkpoint import CheckpointWarning  # noqa: E402
from vlenvs_train.train.precision import MasterWeightAdamW, trained_parameters  # noqa: E402
from vlenvs_train.train.trainer import Trainer  # noqa: E402

from .test_resume import SIGNAL, run_killed  # noqa: E402
from .test_trainer import rows_without_times, small_config  # noqa: E402

RL = ["rl"]


def train_rows(trainer):
    return [r for r in rows_without_times(trainer.out / "metrics.jsonl") if r["kind"] == "train"]


def assert_same_weights(a, b):
    for (name, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(x, y), name


def test_resume_past_a_corrupted_checkpoint_with_a_kl_reference_ends_exactly_like_the_uninterrupted_run(
        tmp_path, tiny_model_path):
    extra = [*SIGNAL, "grpo.kl_coef=0.5", "grpo.iterations=3", "grpo.groups=3", "grpo.group_size=4",
             "keep_checkpoints=3"]
    full = Trainer(small_config(tmp_path, tiny_model_path, "full", extra), RL)
    full.run()
    want = train_rows(full)
    assert all(r["kl"] > 0 for r in want[1:])  # the policy moved away from the reference (resumed at step 1)

    config = small_config(tmp_path, tiny_model_path, "killed", extra)
    run_killed(config, RL, kill_at=3)  # checkpoints after GRPO steps 1 and 2; reference/ written at the start
    assert (tmp_path / "killed" / "reference" / "manifest.json").exists()
    newest = checkpoint.latest_checkpoint(tmp_path / "killed")
    weights = newest / "model.safetensors"
    raw = bytearray(weights.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 8] = bytes(8)  # 8 bytes inside the weights
    weights.write_bytes(bytes(raw))
    with pytest.warns(CheckpointWarning, match="model.safetensors"):
        resumed = Trainer(config, RL, resume=True)
    assert resumed.state["rl_step"] == 1  # fell back to step 1; the bad one is set aside, never loaded again
    assert (newest.parent / f"bad_{newest.name}").exists() and not newest.exists()
    resumed.run()
    assert train_rows(resumed) == want  # same reference (not the resumed policy): same KL, same updates
    assert_same_weights(full, resumed)


def test_evaluation_cadence_does_not_change_training(tmp_path, tiny_model_path):
    runs = []
    for every in (1, 0):
        extra = [*SIGNAL, f"eval.every={every}", "eval.temperature=1.0", "grpo.iterations=3"]
        trainer = Trainer(small_config(tmp_path, tiny_model_path, f"every{every}", extra), ["eval_init", "rl"])
        trainer.run()
        runs.append(trainer)
    assert [r.get("stage") for r in runs[0].logger.rows("eval")] == ["eval_init", "quick", "quick"]
    assert train_rows(runs[0]) == train_rows(runs[1])
    assert sum(r["turns_used"] for r in train_rows(runs[0])) > 0  # the weights moved
    assert_same_weights(*runs)
    assert runs[0].sampler.state_dict() == runs[1].sampler.state_dict()


def changed_fraction(before, after):
    changed = sum(int((a.float() != b.float()).sum()) for a, b in zip(before, after))
    return changed / sum(a.numel() for a in before)


def test_bf16_training_moves_its_fp32_master_weights_like_fp32_training(tmp_path, tiny_model_path):
    fractions = {}
    for dtype in ("float32", "bfloat16"):
        extra = [*SIGNAL, f"model.dtype={dtype}", "grpo.lr=1e-6", "grpo.iterations=3"]
        trainer = Trainer(small_config(tmp_path, tiny_model_path, dtype, extra), RL)
        before = [p.detach().float().clone() for p in trainer.model.parameters()]
        trainer.run()
        assert sum(r["turns_used"] for r in train_rows(trainer)) > 0
        after = trained_parameters(trainer.model, trainer.optimizer)
        fractions[dtype] = changed_fraction(before, after)
        if dtype == "bfloat16":
            assert isinstance(trainer.optimizer, MasterWeightAdamW)
            assert all(p.dtype == torch.bfloat16 for p in trainer.model.parameters())
            assert all(m.dtype == torch.float32 for m in trainer.optimizer.master)
            state = next(iter(trainer.optimizer.state.values()))
            assert state["exp_avg"].dtype == torch.float32
            # the model's weights are the masters rounded to bf16
            for p, m in zip(trainer.model.parameters(), trainer.optimizer.master):
                assert torch.equal(p, m.to(torch.bfloat16))
    assert fractions["float32"] > 0.5
    assert fractions["bfloat16"] > 0.8 * fractions["float32"]
