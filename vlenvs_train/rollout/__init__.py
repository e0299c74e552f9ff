"""Episode collection over vlenvs vector envs."""

from vlenvs_train.rollout.collect import Episode, collect_episodes

__all__ = ["Episode", "collect_episodes"]
