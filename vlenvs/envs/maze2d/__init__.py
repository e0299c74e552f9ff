"""Maze2D: procedurally generated perfect mazes with image + instruction observations."""

from vlenvs.envs.maze2d.config import PRESETS, Maze2DConfig
from vlenvs.envs.maze2d.env import Maze2DEnv, Maze2DVectorEnv

__all__ = ["PRESETS", "Maze2DConfig", "Maze2DEnv", "Maze2DVectorEnv"]
