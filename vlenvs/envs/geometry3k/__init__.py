"""Geometry3k: geometry problems with diagrams (the real Geometry3K dataset or a procedural
generator with exact answers) and a safe grader for free-text answers."""

from vlenvs.envs.geometry3k.config import PRESETS, Geometry3kConfig
from vlenvs.envs.geometry3k.env import Geometry3kEnv, Geometry3kVectorEnv

__all__ = ["PRESETS", "Geometry3kConfig", "Geometry3kEnv", "Geometry3kVectorEnv"]
