"""The trainer on the env-worker rollout pipeline (``rollout.backend`` other than ``"sync"``).

Why two comparisons with the synchronous trainer: the ``hf`` sampler seeds torch once per call
(``seed + call number``) and samples a whole batch from that stream, so a sampled reply depends on which envs
share its batch and on the call order. With ONE shard the pipeline makes exactly the synchronous calls (all envs
of the rollout, in the same order), so a sampled GRPO run must match bit for bit, updates included. With several
shards (2 workers -> 4 shards) the batches are split and their order follows the workers' timing: sampled replies
then differ by construction, so that comparison uses greedy sampling (temperature 0), where a reply is the argmax
continuation of its own prompt: the episodes must be the same, their log-probs equal up to float rounding (a
batch of another size pads and sums differently).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs_train.rollout.pipeline import RolloutPipeline  # noqa: E402
from vlenvs_train.train import checkpoint, trainer  # noqa: E402
from vlenvs_train.train.config import config_from_dict, load_recipe  # noqa: E402
from vlenvs_train.train.trainer import Trainer  # noqa: E402

from .test_trainer import kill_and_resume, rows_without_times, small_config  # noqa: E402

# 2 GRPO iterations with a quick evaluation between them; evaluations of 5 seeds in chunks of 3 and 2 envs
RUN = ["grpo.iterations=2", "eval.every=1", "eval.episodes=5", "eval.batch=3"]
STAGES = ["eval_init", "rl", "eval_final"]
# invalid replies take a random action (from the agent's seeded RNG) for up to 5 steps: returns then differ
# within groups and the GRPO updates have a signal even while the tiny model's replies are all invalid
SIGNAL = ["agent.fallback=random", "env.kwargs.max_steps=5"]
ONE_SHARD = ["rollout.backend=process", "rollout.num_workers=1", "rollout.num_shards=1"]
TWO_WORKERS = ["rollout.backend=process", "rollout.num_workers=2"]
PIPELINE_KEYS = ("rollout_worker_restarts", "rollout_episodes_restarted", "rollout_policy_idle_frac")


@pytest.fixture
def pipelines(monkeypatch):
    """Every pipeline the trainer builds, and the worker pids of each when it was closed."""
    built, closed = [], []
    real_init, real_close = RolloutPipeline.__init__, RolloutPipeline.close

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        built.append(self)

    def close(self):
        closed.append(self.worker_pids())
        real_close(self)

    monkeypatch.setattr(RolloutPipeline, "__init__", init)
    monkeypatch.setattr(RolloutPipeline, "close", close)
    return built, closed


def config(tmp_path, tiny_model_path, name, extra=()):
    return small_config(tmp_path, tiny_model_path, name, [*RUN, *extra])


@pytest.fixture
def train_episodes(monkeypatch):
    """The GRPO iterations' episodes, in the order the trainer got them (as it computes their metrics)."""
    seen = []
    real = trainer.episode_metrics

    def record(episodes, prefix=""):
        if not prefix:
            seen.append(list(episodes))
        return real(episodes, prefix)

    monkeypatch.setattr(trainer, "episode_metrics", record)
    return seen


def signature(episodes):
    """Everything of the episodes but their log-probs: observations (prompt tokens and image tensors), replies,
    actions, rewards."""
    def digest(arrays):
        return hashlib.sha256(b"".join(np.ascontiguousarray(arrays[k]).tobytes() for k in sorted(arrays))).hexdigest()

    return [(e.env_index, e.length, e.total_reward, [
        (r.step, r.action, r.valid, r.reward, r.terminated, r.truncated, r.output.text, r.prompt_ids.tolist(),
         r.response_ids.tolist(), digest(r.mm_inputs)) for r in e.records]) for e in episodes]


def run(tmp_path, tiny_model_path, name, extra=()):
    trainer = Trainer(config(tmp_path, tiny_model_path, name, extra), STAGES)
    trainer.run()
    return trainer


def without(rows, keys=PIPELINE_KEYS):
    return [{k: v for k, v in r.items() if k not in keys} for r in rows]


def assert_same_frames(a, b):
    assert a.keys() == b.keys()
    for stage in a:
        assert len(a[stage]) == len(b[stage]) == 2  # eval.gif_episodes
        for x, y in zip(a[stage], b[stage]):
            np.testing.assert_array_equal(np.stack(x), np.stack(y))


def assert_all_dead(pids):
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_one_shard_trains_exactly_like_sync_and_resumes_exactly(tmp_path, tiny_model_path, pipelines, monkeypatch):
    built, closed = pipelines
    sync = run(tmp_path, tiny_model_path, "sync", SIGNAL)
    assert not built  # the default ("sync") never starts workers
    piped = run(tmp_path, tiny_model_path, "piped", [*SIGNAL, *ONE_SHARD])
    assert len(built) == 1 and len(closed) == 1 and piped._pipeline is None  # one pipeline for the run, closed
    assert_all_dead(closed[0])

    sync_rows, piped_rows = (rows_without_times(t.out / "metrics.jsonl") for t in (sync, piped))
    assert [r.get("stage", r["kind"]) for r in piped_rows] == ["eval_init", "train", "quick", "train", "eval_final"]
    assert without(piped_rows) == sync_rows  # the same sampled episodes, updates and evaluations
    assert all(r["turns_used"] > 0 for r in piped_rows if r["kind"] == "train")  # the weights did move
    for r in piped_rows:
        if r["kind"] in ("train", "eval"):
            assert r["rollout_worker_restarts"] == r["rollout_episodes_restarted"] == 0
            assert 0.0 <= r["rollout_policy_idle_frac"] <= 1.0
    for (name, a), b in zip(sync.model.state_dict().items(), piped.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert_same_frames(sync.state["frames"], piped.state["frames"])

    # the rollout section round-trips through config.yaml and the checkpoint
    cfg = piped.config
    assert cfg.rollout.backend == "process" and cfg.rollout.num_shards == 1
    assert load_recipe(piped.out / "config.yaml") == cfg
    assert config_from_dict(checkpoint.load_checkpoint(checkpoint.latest_checkpoint(piped.out))["config"]) == cfg

    # killed after logging GRPO step 2 (before its checkpoint): the workers are stopped, the resumed run ends
    # exactly like the uninterrupted one
    resumed = kill_and_resume(monkeypatch, config(tmp_path, tiny_model_path, "killed", [*SIGNAL, *ONE_SHARD]), STAGES)
    assert len(built) == len(closed) == 2  # the killed run's pipeline was closed
    assert_all_dead(closed[1])
    resumed.run()
    timing = ("rollout_policy_idle_frac",)
    assert without(rows_without_times(resumed.out / "metrics.jsonl"), timing) == without(piped_rows, timing)
    for (name, a), b in zip(piped.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_two_process_workers_play_the_episodes_of_sync(tmp_path, tiny_model_path, pipelines, train_episodes):
    built, closed = pipelines
    greedy = ["sampler.temperature=0"]
    sync = run(tmp_path, tiny_model_path, "sync", greedy)
    piped = run(tmp_path, tiny_model_path, "piped", [*greedy, *TWO_WORKERS])
    assert len(train_episodes) == 4  # 2 iterations of each run
    for want, got in zip(train_episodes[:2], train_episodes[2:]):
        assert signature(got) == signature(want)
        for a, b in zip([r.logprobs for e in want for r in e.records], [r.logprobs for e in got for r in e.records]):
            np.testing.assert_allclose(a, b, atol=1e-4)  # same replies; log-probs of batches of other sizes
    assert len(built) == len(closed) == 1 and len(closed[0]) == 2
    assert_all_dead(closed[0])
    sync_rows, piped_rows = (rows_without_times(t.out / "metrics.jsonl") for t in (sync, piped))
    assert without(piped_rows) == sync_rows
    assert [r["eval_episodes"] for r in piped_rows if r["kind"] == "eval"] == [5.0, 2.0, 5.0]
    assert all(r["rollout_worker_restarts"] == 0 for r in piped_rows if r["kind"] in ("train", "eval"))
    assert_same_frames(sync.state["frames"], piped.state["frames"])
