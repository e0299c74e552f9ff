"""Env workers as Ray actors on a local Ray cluster (``ray start --head`` in a fixture, always stopped)."""

from __future__ import annotations

import pytest

ray = pytest.importorskip("ray")

from vlenvs_train.rollout.pipeline import PipelineConfig, RolloutPipeline  # noqa: E402
from vlenvs_train.rollout.ray_workers import LocalRayCluster  # noqa: E402

from .test_pipeline import MAZE, KillOnCall, reference, signature  # noqa: E402

SEEDS = list(range(20, 29))


@pytest.fixture(scope="module")
def cluster():
    local = LocalRayCluster(num_cpus=2)
    try:
        yield local
    finally:
        local.stop()  # disconnects and stops exactly this cluster
        assert local.process.poll() is not None


@pytest.fixture(scope="module")
def want():
    return signature(reference(MAZE, SEEDS))


def test_ray_actors_give_the_episodes_of_play_seeds_and_survive_a_killed_actor(cluster, want):
    box = {}
    policy = KillOnCall(None, lambda: ray.kill(box["pipe"].pool.handles[0].actor), settle_s=0.2)
    config = PipelineConfig("ray", num_workers=2, ray_address=cluster.address, ray_num_cpus=0.5)
    with RolloutPipeline(MAZE, policy, config=config) as pipe:
        box["pipe"] = pipe
        assert ray.is_initialized() and len(set(pipe.worker_pids())) == 2
        assert signature(pipe.play_seeds(SEEDS)) == want
        assert pipe.last_stats.worker_restarts == 0
        # kill an actor mid-rollout: it is replaced and its episodes are played again from their seeds
        policy.at = policy.calls + 3
        old = pipe.pool.handles[0].name
        got = pipe.play_seeds(SEEDS)
        stats = pipe.last_stats
    assert signature(got) == want
    assert stats.worker_restarts == 1 and stats.episodes_restarted >= 1
    assert len(stats.events) == 1 and stats.events[0].startswith(f"{old} died")
