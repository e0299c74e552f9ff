"""The asynchronous pipeline: same episodes as the synchronous loops, several policies, overlap, worker death
and restart, typed errors."""

from __future__ import annotations

import os
import signal
import threading
import time

import gymnasium as gym
import numpy as np
import pytest

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.base import PolicyError
from vlenvs_train.policies.oracle import OraclePolicy, RandomPolicy
from vlenvs_train.policies.sleeping import SleepingPolicy
from vlenvs_train.rollout.collect import collect_episodes
from vlenvs_train.rollout.pipeline import PipelineConfig, RolloutPipeline, play_seeds_pipelined
from vlenvs_train.rollout.workers import EnvFactory, WorkerDiedError
from vlenvs_train.train.rollout import play_seeds

MAZE = EnvFactory("vlenvs/Maze2D-v0", {"size": 7, "image_size": 32})
SEEDS = list(range(100, 111))  # 11 envs: shards of unequal sizes


def signature(episodes):
    """Everything of the episodes but the agent's episode-id numbering."""
    return [(e.env_index, e.length, e.total_reward, e.success, e.terminated, e.truncated,
             [(r.env_index, r.step, r.action, r.valid, r.reward, r.terminated, r.truncated,
               r.info.get("shortest_path_length"), r.output.text) for r in e.records]) for e in episodes]


def reference(factory, seeds, policy=None, frames=None):
    env = factory.make(len(seeds))
    return play_seeds(env, BatchedAgent(policy or OraclePolicy(), env), seeds, frames)


@pytest.fixture(scope="module")
def process_pipeline():
    with RolloutPipeline(MAZE, OraclePolicy(), config=PipelineConfig("process", num_workers=2)) as pipe:
        yield pipe


def test_inline_pipeline_gives_the_episodes_of_play_seeds():
    want = reference(MAZE, SEEDS)
    with RolloutPipeline(MAZE, OraclePolicy(), config=PipelineConfig("inline", num_workers=1, num_shards=3)) as pipe:
        got = pipe.play_seeds(SEEDS)
        stats = pipe.last_stats
    assert signature(got) == signature(want)
    assert [e.episode_id for e in got] == list(range(len(SEEDS)))
    assert all(r.episode_id == e.episode_id for e in got for r in e.records)
    assert stats.episodes == len(SEEDS) and stats.env_steps == sum(e.length for e in want)
    assert stats.worker_restarts == stats.episodes_restarted == 0 and stats.events == []


def test_process_pipeline_gives_the_episodes_and_frames_of_play_seeds(process_pipeline):
    want_frames, got_frames = [], []
    want = reference(MAZE, SEEDS, frames=want_frames)
    got = process_pipeline.play_seeds(SEEDS, frames=got_frames)
    assert signature(got) == signature(want)
    assert len(got_frames) == len(want_frames) == len(SEEDS)
    for a, b in zip(got_frames, want_frames):
        assert len(a) == len(b)
        np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert len(set(process_pipeline.worker_pids()) - {os.getpid()}) == 2
    # the workers and their shards are kept: a smaller call reuses them with a new layout
    assert signature(process_pipeline.play_seeds(SEEDS[:5])) == signature(want[:5])


def test_random_policy_with_the_same_seed_gives_the_same_episodes_as_play_seeds():
    factory = EnvFactory("vlenvs/GridWorld3D-v0", {"image_size": 32, "max_steps": 6}, "easy")
    want = reference(factory, SEEDS[:6], RandomPolicy(seed=3))
    episodes, stats = play_seeds_pipelined(factory, RandomPolicy(seed=3), SEEDS[:6],
                                           config=PipelineConfig("inline", num_workers=1, num_shards=1))
    assert signature(episodes) == signature(want) and stats.policy_calls == (6,)


@pytest.mark.parametrize("mode", ["NextStep", "SameStep", "Disabled"])
def test_every_autoreset_mode_plays_one_episode_per_seed(mode):
    factory = EnvFactory("vlenvs/Maze2D-v0", {"size": 7, "image_size": 32, "autoreset_mode": mode})
    with RolloutPipeline(factory, OraclePolicy(), config=PipelineConfig("inline", num_workers=2)) as pipe:
        got = pipe.play_seeds(SEEDS)
    assert signature(got) == signature(reference(MAZE, SEEDS))


@pytest.mark.parametrize("mode", ["NextStep", "Disabled"])
def test_collect_episodes_matches_the_synchronous_loop_env_by_env(mode):
    factory = EnvFactory("vlenvs/Maze2D-v0", {"size": 7, "image_size": 32, "autoreset_mode": mode})
    with RolloutPipeline(factory, OraclePolicy(), config=PipelineConfig("inline", num_workers=1, num_shards=3)) as pipe:
        got = pipe.collect_episodes(num_envs=6, num_episodes=20, seed=7)
    env = MAZE.make(6)
    want = collect_episodes(env, BatchedAgent(OraclePolicy(), env), num_episodes=150, seed=7)  # >= 20 per env
    assert len(got) == 20 and len({e.episode_id for e in got}) == 20

    def per_env(episodes):
        return {i: [signature([e])[0][1:] for e in episodes if e.env_index == i] for i in range(6)}

    got_by_env, want_by_env = per_env(got), per_env(want)
    for i in range(6):  # each env's episodes come in the same order with the same content
        assert got_by_env[i] == want_by_env[i][:len(got_by_env[i])]
    assert sum(len(v) for v in got_by_env.values()) == 20


def test_several_policies_are_used_at_once_round_robin():
    policies = [SleepingPolicy(0.0) for _ in range(3)]
    with RolloutPipeline(MAZE, policies, config=PipelineConfig("inline", num_workers=1, num_shards=6)) as pipe:
        got = pipe.play_seeds(SEEDS)
        stats = pipe.last_stats
    assert signature(got) == signature(reference(MAZE, SEEDS))
    assert all(p.calls > 0 for p in policies) and stats.policy_calls == tuple(p.calls for p in policies)
    # shards 0 and 3 -> policy 0, 1 and 4 -> policy 1, 2 and 5 -> policy 2; shard j has envs of array_split
    shards = np.array_split(np.arange(len(SEEDS)), 6)
    assert sum(p.clock.units for p in policies) == sum(e.length for e in got)
    for k, p in enumerate(policies):
        assert p.clock.units == sum(got[i].length for j in (k, k + 3) for i in shards[j])


class Counting:
    """A pass-through wrapper that counts the replies it passed on."""

    def __init__(self, policy) -> None:
        self.policy, self.replies, self.lock = policy, 0, threading.Lock()

    def generate(self, requests):
        out = self.policy.generate(requests)
        with self.lock:
            self.replies += len(out)
        return out


def test_policies_wrapped_routes_every_call_through_the_wrapper_then_restores():
    policies = [OraclePolicy(), OraclePolicy()]
    wrappers = []

    def wrap(p):
        wrappers.append(Counting(p))
        return wrappers[-1]

    with RolloutPipeline(MAZE, policies, config=PipelineConfig("inline", num_workers=1, num_shards=4)) as pipe:
        with pipe.policies_wrapped(wrap):
            got = pipe.play_seeds(SEEDS)
        assert [w.policy for w in wrappers] == policies and [p.policy for p in pipe.policies] == policies
        assert sum(w.replies for w in wrappers) == sum(e.length for e in got) and all(w.replies for w in wrappers)
        with pytest.raises(RuntimeError), pipe.policies_wrapped(wrap):
            raise RuntimeError("restored on errors too")
        assert [p.policy for p in pipe.policies] == policies
        assert signature(pipe.play_seeds(SEEDS)) == signature(got)
    assert sum(w.replies for w in wrappers) == sum(e.length for e in got)  # the unwrapped call counted nowhere


class InFlight:
    """A policy that records the most calls it ever had in flight at once."""

    def __init__(self, latency_s: float) -> None:
        self.inner, self.lock, self.now, self.most = SleepingPolicy(latency_s), threading.Lock(), 0, 0

    def generate(self, requests):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return self.inner.generate(requests)
        finally:
            with self.lock:
                self.now -= 1


@pytest.mark.parametrize("concurrency", [1, 4])
def test_policy_concurrency_bounds_the_calls_in_flight(concurrency):
    policy = InFlight(0.02 if concurrency == 1 else 0.1)  # long sleeps: overlap even on a loaded machine
    config = PipelineConfig("inline", num_workers=1, num_shards=4, policy_concurrency=concurrency)
    with RolloutPipeline(MAZE, policy, config=config) as pipe:
        got = pipe.play_seeds(SEEDS)
        stats = pipe.last_stats
    assert signature(got) == signature(reference(MAZE, SEEDS))
    if concurrency == 1:
        assert policy.most == 1
    else:  # four shards sleeping 100 ms each: their calls overlap
        assert 2 <= policy.most <= 4
    assert 0 < stats.policy_busy_s[0] <= stats.wall_s + 1e-6
    assert stats.policy_idle_s[0] == pytest.approx(stats.wall_s - stats.policy_busy_s[0])


class KillOnCall:
    """Oracle answers; on call number ``at`` (``None``: never) it first kills a worker, as a crash would."""

    def __init__(self, at: int | None, kill, settle_s: float = 0.05) -> None:
        self.at, self.kill, self.settle_s, self.calls, self.lock = at, kill, settle_s, 0, threading.Lock()

    def generate(self, requests):
        with self.lock:
            self.calls += 1
            fire = self.calls == self.at
        if fire:
            self.kill()
            time.sleep(self.settle_s)  # let the death land while other shards are mid-step
        return OraclePolicy().generate(requests)


def test_a_killed_worker_is_replaced_and_its_episodes_restarted(caplog):
    box = {}
    policy = KillOnCall(3, lambda: os.kill(box["pipe"].worker_pids()[0], signal.SIGKILL))
    want = reference(MAZE, SEEDS)
    with RolloutPipeline(MAZE, policy, config=PipelineConfig("process", num_workers=2)) as pipe:
        box["pipe"] = pipe
        pids = pipe.worker_pids()
        got = pipe.play_seeds(SEEDS)
        stats = pipe.last_stats
        assert pipe.worker_pids()[0] != pids[0] and pipe.worker_pids()[1] == pids[1]
        assert signature(pipe.play_seeds(SEEDS)) == signature(want)  # the replacement keeps working
    assert signature(got) == signature(want)  # every episode, restarted from its seed
    assert stats.worker_restarts == 1 and stats.episodes_restarted >= 1
    assert len(stats.events) == 1 and f"pid {pids[0]}" in stats.events[0] and "replaced" in stats.events[0]
    assert any("restarting its" in r.message for r in caplog.records)


def test_collect_episodes_survives_a_worker_death():
    box = {}
    policy = KillOnCall(4, lambda: os.kill(box["pipe"].worker_pids()[1], signal.SIGKILL))
    with RolloutPipeline(MAZE, policy, config=PipelineConfig("process", num_workers=2)) as pipe:
        box["pipe"] = pipe
        got = pipe.collect_episodes(num_envs=8, num_episodes=24, seed=1)
        stats = pipe.last_stats
    assert len(got) == 24 and all(e.terminated and e.success for e in got)
    assert all([r.step for r in e.records] == list(range(e.length)) for e in got)
    assert stats.worker_restarts == 1 and stats.episodes_restarted >= 1


def test_without_restarts_allowed_a_death_is_an_error():
    box = {}
    policy = KillOnCall(2, lambda: os.kill(box["pipe"].worker_pids()[0], signal.SIGKILL))
    config = PipelineConfig("process", num_workers=1, max_worker_restarts=0)
    with RolloutPipeline(MAZE, policy, config=config) as pipe:
        box["pipe"] = pipe
        with pytest.raises(WorkerDiedError, match="gave up after 0 worker restarts"):
            pipe.play_seeds(SEEDS)


def test_a_policy_error_stops_the_rollout_and_is_raised():
    class Broken:
        def generate(self, requests):
            raise PolicyError("server gone")

    with RolloutPipeline(MAZE, [OraclePolicy(), Broken()], config=PipelineConfig("inline", 1, 4)) as pipe:
        with pytest.raises(PolicyError, match="server gone"):
            pipe.play_seeds(SEEDS)


def test_agent_config_is_used_per_call():
    with RolloutPipeline(MAZE, OraclePolicy(), AgentConfig(answer_format="answer"),
                         PipelineConfig("inline", num_workers=1)) as pipe:
        first = pipe.play_seeds(SEEDS[:2])
        second = pipe.play_seeds(SEEDS[:2], agent_config=AgentConfig(answer_format="think", history_turns=2))
    assert signature(first) == signature(second)  # the oracle ignores the prompt; the call still works


def test_sleeping_policy_sleeps_and_answers_like_its_inner_policy():
    env = MAZE.make(2)
    policy = SleepingPolicy(latency_s=0.01, per_request_s=0.005)
    t0 = time.perf_counter()
    got = play_seeds(env, BatchedAgent(policy, env), [3, 4])
    elapsed = time.perf_counter() - t0
    want = reference(MAZE, [3, 4])
    assert signature(got) == signature(want)
    replies = sum(e.length for e in got)
    assert policy.calls >= max(e.length for e in got) and policy.clock.units == replies
    assert elapsed >= policy.calls * 0.01 + replies * 0.005 and policy.clock.busy_s <= elapsed
    with pytest.raises(InvalidConfigError, match="invalid latency_s -1"):
        SleepingPolicy(latency_s=-1)


def test_bad_configs_are_typed_errors():
    with pytest.raises(InvalidConfigError, match="invalid backend 'threads'"):
        PipelineConfig(backend="threads")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="invalid num_workers 0"):
        PipelineConfig(num_workers=0)
    with pytest.raises(InvalidConfigError, match="num_shards=1 < num_workers=2"):
        PipelineConfig(num_workers=2, num_shards=1)
    with pytest.raises(InvalidConfigError, match="invalid policy_concurrency 0"):
        PipelineConfig(policy_concurrency=0)
    with pytest.raises(InvalidConfigError, match="env must be an EnvFactory"):
        RolloutPipeline(gym.make_vec("vlenvs/Maze2D-v0", num_envs=2), OraclePolicy())  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="policies must be"):
        RolloutPipeline(MAZE, [])
    with pytest.raises(InvalidConfigError, match="num_shards=2 < 3 policies"):
        RolloutPipeline(MAZE, [OraclePolicy()] * 3, config=PipelineConfig("inline", 1, 2))
    with RolloutPipeline(MAZE, OraclePolicy(), config=PipelineConfig("inline", 1, 4)) as pipe:
        with pytest.raises(InvalidConfigError, match="num_shards=4 > 3 envs"):
            pipe.play_seeds([1, 2, 3])
        with pytest.raises(InvalidConfigError, match="at least one seed"):
            pipe.play_seeds([])
        with pytest.raises(InvalidConfigError, match="invalid num_episodes 0"):
            pipe.collect_episodes(4, 0)
