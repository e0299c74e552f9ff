"""Wrappers that plug vlenvs envs into other RL libraries, and episode recording.

- :class:`ImageOnly` / :class:`VectorImageOnly`: the image as a plain ``uint8`` array (optionally channel-first).
- :class:`InstructionIds` / :class:`VectorInstructionIds`: image plus the instruction as fixed-length ids.
- :class:`RecordEpisodes` / :class:`VectorRecordEpisodes`: write episodes as GIF or MP4.
- :class:`SB3VecEnv` (``vlenvs.wrappers.sb3``, imported on first use): a Stable-Baselines3 ``VecEnv`` over a
  native vector env, so SB3 steps the whole batch at once.
"""

from typing import Any

from vlenvs.wrappers.image_only import ImageOnly, VectorImageOnly
from vlenvs.wrappers.instruction_ids import InstructionEncoder, InstructionIds, VectorInstructionIds
from vlenvs.wrappers.record import RecordConfig, RecordEpisodes, VectorRecordEpisodes

__all__ = [
    "ImageOnly",
    "InstructionEncoder",
    "InstructionIds",
    "RecordConfig",
    "RecordEpisodes",
    "SB3VecEnv",
    "VectorImageOnly",
    "VectorInstructionIds",
    "VectorRecordEpisodes",
]


def __getattr__(name: str) -> Any:
    if name == "SB3VecEnv":  # Stable-Baselines3 (and torch) only when asked for
        from vlenvs.wrappers.sb3 import SB3VecEnv

        return SB3VecEnv
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
