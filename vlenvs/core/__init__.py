"""What every vlenvs env shares: the batched core, the single and vector envs over it, spaces, errors."""

from vlenvs.core.batched import BatchedCore
from vlenvs.core.errors import (
    DatasetError,
    InvalidActionError,
    InvalidConfigError,
    ResetNeededError,
    UnexpectedArgumentError,
    VlenvsError,
)
from vlenvs.core.single import BatchedSingleEnv
from vlenvs.core.vector import NativeVectorEnv

__all__ = [
    "BatchedCore",
    "BatchedSingleEnv",
    "DatasetError",
    "InvalidActionError",
    "InvalidConfigError",
    "NativeVectorEnv",
    "ResetNeededError",
    "UnexpectedArgumentError",
    "VlenvsError",
]
