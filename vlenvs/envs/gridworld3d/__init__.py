"""GridWorld3D: a first-person 3D grid world with language instructions, drawn by a numpy raycaster."""

from vlenvs.envs.gridworld3d.config import PRESETS, GridWorld3DConfig
from vlenvs.envs.gridworld3d.env import GridWorld3DEnv, GridWorld3DVectorEnv

__all__ = ["PRESETS", "GridWorld3DConfig", "GridWorld3DEnv", "GridWorld3DVectorEnv"]
