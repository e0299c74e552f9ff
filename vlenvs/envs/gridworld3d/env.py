"""The GridWorld3D Gymnasium envs: single (a batch of one) and native vector, over one core."""

from __future__ import annotations

from vlenvs.core.single import BatchedSingleEnv
from vlenvs.core.vector import NativeVectorEnv
from vlenvs.envs.gridworld3d.dynamics import GridWorld3DCore


class GridWorld3DEnv(BatchedSingleEnv):
    """First-person 3D grid world: walk to the objects the instruction names and say ``done``.

    Observation: ``{"image": uint8[H, W, 3], "instruction": str}`` (``W`` doubles with ``view="both"``).
    Actions: ``turn_left, turn_right, forward, done``. ``done`` completes the current target when it is
    on the agent's cell or right in front of it; said anywhere else it ends the episode as a failure.
    See :class:`~vlenvs.envs.gridworld3d.config.GridWorld3DConfig` for every keyword argument
    (``image_size``, ``fov``, ``view``, ...) and ``preset`` for the named variants.
    """

    core_cls = GridWorld3DCore


class GridWorld3DVectorEnv(NativeVectorEnv):
    """``num_envs`` GridWorld3D envs stepped as one batch in one process (same core as :class:`GridWorld3DEnv`)."""

    core_cls = GridWorld3DCore
