"""The Geometry3k Gymnasium envs: single (a batch of one) and native vector, over one core."""

from __future__ import annotations

from vlenvs.core.single import BatchedSingleEnv
from vlenvs.core.vector import NativeVectorEnv
from vlenvs.envs.geometry3k.dynamics import Geometry3kCore


class Geometry3kEnv(BatchedSingleEnv):
    """Geometry problems with diagrams, answered in free text (Geometry3K or procedurally generated).

    Observation: ``{"image": uint8[H, W, 3], "instruction": str}``. Action: the model's answer text.
    See :class:`~vlenvs.envs.geometry3k.config.Geometry3kConfig` for every keyword argument.
    """

    core_cls = Geometry3kCore


class Geometry3kVectorEnv(NativeVectorEnv):
    """``num_envs`` Geometry3k envs as one batch in one process (same core as :class:`Geometry3kEnv`)."""

    core_cls = Geometry3kCore
