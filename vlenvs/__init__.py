"""vlenvs: fast, natively vectorized vision-language environments for RL.

``import vlenvs`` registers the ``vlenvs/...`` ids with Gymnasium; it imports no torch, no vLLM and no
pygame. Use ``gymnasium.make("vlenvs/Maze2D-v0")`` and ``gymnasium.make_vec("vlenvs/Maze2D-v0", num_envs=N)``,
or, without importing vlenvs first, ``gymnasium.make("vlenvs:vlenvs/Maze2D-v0")``.
"""

from vlenvs.core.errors import (
    DatasetError,
    InvalidActionError,
    InvalidConfigError,
    ResetNeededError,
    UnexpectedArgumentError,
    VlenvsError,
)
from vlenvs.registration import ENVS, register_envs

__version__ = "0.1.0"

register_envs()

__all__ = [
    "ENVS",
    "DatasetError",
    "InvalidActionError",
    "InvalidConfigError",
    "ResetNeededError",
    "UnexpectedArgumentError",
    "VlenvsError",
    "__version__",
]
