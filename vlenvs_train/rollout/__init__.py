"""Episode collection over vlenvs vector envs: ONE episode loop for every autoreset mode
(:mod:`vlenvs_train.rollout.episodes`), run synchronously (:func:`collect_episodes`, :func:`play_seeds`) or on
env workers (local processes or Ray actors; :mod:`vlenvs_train.rollout.pipeline`); :class:`EnvFactory` builds
every env."""

from vlenvs_train.rollout.collect import collect_episodes
from vlenvs_train.rollout.envs import EnvFactory, episode_limit
from vlenvs_train.rollout.episodes import Episode, EpisodeLoop
from vlenvs_train.rollout.pipeline import PipelineConfig, RolloutPipeline, RolloutStats, play_seeds_pipelined
from vlenvs_train.rollout.play import play_many, play_many_on, play_seeds
from vlenvs_train.rollout.workers import WorkerDiedError, WorkerStartError

__all__ = [
    "EnvFactory",
    "Episode",
    "EpisodeLoop",
    "PipelineConfig",
    "RolloutPipeline",
    "RolloutStats",
    "WorkerDiedError",
    "WorkerStartError",
    "collect_episodes",
    "episode_limit",
    "play_many",
    "play_many_on",
    "play_seeds",
    "play_seeds_pipelined",
]
