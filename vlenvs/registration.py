"""Registers every vlenvs env id with Gymnasium (``entry_point`` and native ``vector_entry_point``)."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

#: env id -> (module, single class, vector class)
ENVS: dict[str, tuple[str, str, str]] = {
    "vlenvs/Maze2D-v0": ("vlenvs.envs.maze2d.env", "Maze2DEnv", "Maze2DVectorEnv"),
    "vlenvs/GridWorld3D-v0": ("vlenvs.envs.gridworld3d.env", "GridWorld3DEnv", "GridWorld3DVectorEnv"),
    "vlenvs/Geometry3k-v0": ("vlenvs.envs.geometry3k.env", "Geometry3kEnv", "Geometry3kVectorEnv"),
}


def register_envs() -> None:
    """Register all ids; safe to call more than once."""
    for env_id, (module, single, vector) in ENVS.items():
        if env_id in registry:
            continue
        register(
            id=env_id,
            entry_point=f"{module}:{single}",
            vector_entry_point=f"{module}:{vector}",
            disable_env_checker=False,
        )
