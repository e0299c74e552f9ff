"""Episode collection over vlenvs vector envs: the synchronous loop, and the asynchronous pipeline over env
workers (local processes or Ray actors; :mod:`vlenvs_train.rollout.pipeline`)."""

from vlenvs_train.rollout.collect import Episode, collect_episodes
from vlenvs_train.rollout.pipeline import PipelineConfig, RolloutPipeline, RolloutStats, play_seeds_pipelined
from vlenvs_train.rollout.workers import EnvFactory, WorkerDiedError, WorkerStartError

__all__ = [
    "EnvFactory",
    "Episode",
    "PipelineConfig",
    "RolloutPipeline",
    "RolloutStats",
    "WorkerDiedError",
    "WorkerStartError",
    "collect_episodes",
    "play_seeds_pipelined",
]
