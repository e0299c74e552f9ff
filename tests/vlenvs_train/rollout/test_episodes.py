"""The one episode loop: every autoreset mode through every caller (sync eval, GRPO-style play_seeds, the
pipeline, collect_episodes, the SkyRL adapter's per-reply steps) gives the same episodes for the same seeds."""

from __future__ import annotations

import ast
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import vlenvs_train
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.policies.oracle import OraclePolicy
from vlenvs_train.rollout.collect import collect_episodes
from vlenvs_train.rollout.envs import EnvFactory, episode_limit
from vlenvs_train.rollout.episodes import EpisodeLoop, Part, PlaySeedsTask, VectorEnvOps
from vlenvs_train.rollout.pipeline import PipelineConfig, RolloutPipeline
from vlenvs_train.rollout.play import play_many, play_seeds
from vlenvs_train.train.backends import evaluate
from vlenvs_train.train.config import EnvConfig, EvalConfig

MODES = ["NextStep", "SameStep", "Disabled"]
#: max_steps 6 on size-7 mazes: some episodes succeed, some are truncated.
KWARGS = {"size": 7, "image_size": 32, "max_steps": 6}
SEEDS = list(range(300, 309))


class Alternating:
    """A deterministic, order-independent policy: the oracle's action, except an invalid reply on odd steps of
    envs whose instruction has an even length (exercises invalid replies and the fallback)."""

    def __init__(self) -> None:
        self.oracle = OraclePolicy()

    def generate(self, requests):
        outs = self.oracle.generate(requests)
        for req, out in zip(requests, outs):
            text = req.messages[-1]["content"][-1]["text"]
            if len(text) % 2 == 0 and "Step 1." in text:
                out.text = "I am not sure"
        return outs


def content(episode):
    """An episode without its env index/id numbering (those depend on how the caller batches envs)."""
    return (episode.length, episode.total_reward, episode.success, episode.terminated, episode.truncated,
            [(r.step, r.action, r.valid, r.reward, r.terminated, r.truncated, r.info.get("shortest_path_length"),
              r.output.text) for r in episode.records])


def factory(mode: str | None = None) -> EnvFactory:
    return EnvFactory("vlenvs/Maze2D-v0", {**KWARGS, **({"autoreset_mode": mode} if mode else {})})


@pytest.fixture(scope="module")
def reference():
    env = factory().make(len(SEEDS))
    episodes = play_seeds(env, BatchedAgent(Alternating(), env), SEEDS)
    assert any(e.success for e in episodes) and any(e.truncated for e in episodes)
    assert any(not r.valid for e in episodes for r in e.records)
    return [content(e) for e in episodes]


@pytest.mark.parametrize("mode", MODES)
def test_play_seeds_grpo_style_in_every_mode(mode, reference):
    env = factory(mode).make(len(SEEDS))
    assert env.metadata["autoreset_mode"].value == mode
    episodes = play_seeds(env, BatchedAgent(Alternating(), env), SEEDS)
    assert [content(e) for e in episodes] == reference
    assert [e.episode_id for e in episodes] == list(range(len(SEEDS)))


@pytest.mark.parametrize("mode", MODES)
def test_sync_eval_in_every_mode(mode, reference):
    env_config = EnvConfig(id="vlenvs/Maze2D-v0", preset=None, kwargs={**KWARGS, "autoreset_mode": mode})
    episodes = play_many(env_config, AgentConfig(), Alternating(), SEEDS, batch=4)
    assert [content(e) for e in episodes] == reference
    metrics = evaluate(Alternating(), env_config, AgentConfig(), EvalConfig(episodes=len(SEEDS), batch=4),
                       seeds=SEEDS)
    assert metrics["eval_success_rate"] == np.mean([c[2] for c in reference])
    assert metrics["eval_episodes"] == len(SEEDS)


@pytest.mark.parametrize("mode", MODES)
def test_pipeline_in_every_mode(mode, reference):
    with RolloutPipeline(factory(mode), Alternating(),
                         config=PipelineConfig("inline", num_workers=1, num_shards=3)) as pipe:
        episodes = pipe.play_seeds(SEEDS)
    assert [content(e) for e in episodes] == reference


@pytest.mark.parametrize("mode", MODES)
def test_collect_in_every_mode_starts_with_the_seeds_episodes(mode, reference):
    """``collect_episodes(seed=s)`` seeds env ``i`` with ``s + i``: each env's first episode is that seed's."""
    env = factory(mode).make(len(SEEDS))
    episodes = collect_episodes(env, BatchedAgent(Alternating(), env), num_episodes=3 * len(SEEDS), seed=SEEDS[0])
    assert len(episodes) == 3 * len(SEEDS)
    assert [e.episode_id for e in episodes] == list(range(len(episodes)))  # ids in finishing order
    first = {}
    for e in episodes:
        first.setdefault(e.env_index, content(e))
    assert [first[i] for i in range(len(SEEDS))] == reference


@pytest.mark.parametrize("mode", MODES)
def test_sync_collect_equals_the_one_shard_pipeline(mode):
    env = factory(mode).make(4)
    want = collect_episodes(env, BatchedAgent(Alternating(), env), num_episodes=10, seed=5)
    with RolloutPipeline(factory(mode), Alternating(),
                         config=PipelineConfig("inline", num_workers=1, num_shards=1)) as pipe:
        got = pipe.collect_episodes(num_envs=4, num_episodes=10, seed=5)
    assert [(e.env_index, e.episode_id, content(e)) for e in got] == \
        [(e.env_index, e.episode_id, content(e)) for e in want]


@settings(max_examples=12, deadline=None)
@given(seeds=st.lists(st.integers(0, 10_000), min_size=1, max_size=5), mode=st.sampled_from(MODES),
       shards=st.integers(1, 5), max_steps=st.integers(1, 8))
def test_any_seeds_any_mode_any_sharding_give_the_same_episodes(seeds, mode, shards, max_steps):
    kwargs = {"size": 5, "image_size": 16, "max_steps": max_steps}
    ref_env = EnvFactory("vlenvs/Maze2D-v0", kwargs).make(len(seeds))
    want = [content(e) for e in play_seeds(ref_env, BatchedAgent(Alternating(), ref_env), seeds)]
    env = EnvFactory("vlenvs/Maze2D-v0", {**kwargs, "autoreset_mode": mode}).make(len(seeds))
    assert [content(e) for e in play_seeds(env, BatchedAgent(Alternating(), env), seeds)] == want
    config = PipelineConfig("inline", num_workers=1, num_shards=min(shards, len(seeds)))
    with RolloutPipeline(EnvFactory("vlenvs/Maze2D-v0", {**kwargs, "autoreset_mode": mode}), Alternating(),
                         config=config) as pipe:
        assert [content(e) for e in pipe.play_seeds(seeds)] == want
    assert all(len(c[5]) <= max_steps for c in want)


def test_next_step_envs_all_on_their_reset_step_still_step():
    """One-step episodes: after every env finished at once, the next step only resets them (no policy call),
    and collection goes on."""
    env = gym.make_vec("vlenvs/Geometry3k-v0", num_envs=2)
    episodes = collect_episodes(env, BatchedAgent(OraclePolicy(), env), num_episodes=6, seed=0, max_steps=50)
    assert len(episodes) == 6 and all(e.length == 1 for e in episodes)


def test_the_loop_can_be_stepped_one_reply_at_a_time():
    """What the SkyRL adapter does: start, then one step per reply, reading the step's results."""
    env = factory("Disabled").make(1)
    agent = BatchedAgent(OraclePolicy(), env)
    loop = EpisodeLoop(VectorEnvOps(env), agent, "Disabled", PlaySeedsTask([SEEDS[0]]),
                       Part(0, 0, 1, episode_limit(env)))
    loop.start()
    steps = 0
    while loop.step():
        steps += 1
        reward, terminated, truncated, info = loop.last_step
        assert loop.records[0] is not None and loop.records[0].reward == reward[0]
    assert steps == loop.env_steps >= 1 and (terminated[0] or truncated[0])
    assert not loop.step()  # over: nothing more is asked of the policy or the env
    env2 = factory().make(1)
    assert content(loop.task.episodes[0]) == content(play_seeds(env2, BatchedAgent(OraclePolicy(), env2),
                                                               [SEEDS[0]])[0])


def test_stop_ends_the_loop_early():
    env = factory().make(3)
    task = PlaySeedsTask(SEEDS[:3])
    calls = []
    loop = EpisodeLoop(VectorEnvOps(env), BatchedAgent(OraclePolicy(), env), "NextStep", task,
                       Part(0, 0, 3, episode_limit(env)), stop=lambda: len(calls) >= 2 or calls.append(1))
    loop.run()
    assert loop.env_steps == 2 * 3  # two steps of three envs, then stopped
    assert all(e is not None and e.length == 2 for e in task.episodes)  # cut off, handed in as they are


def test_env_factory_is_the_only_env_builder():
    """No ``gym.make_vec``/``gym.make`` outside :mod:`vlenvs_train.rollout.envs`."""
    root = Path(vlenvs_train.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        if path == root / "rollout" / "envs.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("make_vec", "make") and \
                    isinstance(node.value, ast.Name) and node.value.id in ("gym", "gymnasium"):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize("mode", MODES)
def test_frames_are_each_episodes_own_images_in_every_mode(mode):
    """The frames kept for GIFs and viewers end with the episode's own last image, also under SameStep (where the
    env already shows the next episode's reset observation when its episode ends)."""
    def frames_of(autoreset):
        env = factory(autoreset).make(len(SEEDS))
        frames: list[list[np.ndarray]] = []
        play_seeds(env, BatchedAgent(Alternating(), env), SEEDS, frames=frames)
        return frames

    reference, frames = frames_of(None), frames_of(mode)
    assert len(frames) == len(reference)
    for ref, got in zip(reference, frames):
        assert len(ref) == len(got) and all(np.array_equal(a, b) for a, b in zip(ref, got))
