"""Gymnasium's own tools on vlenvs envs: vector ``RecordVideo``, and ``check_env`` on a core install (no pygame)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import vlenvs  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]


def test_vector_render_is_a_tuple_of_frames_like_sync_vector_env():
    native = gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, render_mode="rgb_array", size=5, image_size=16)
    sync = gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, vectorization_mode="sync", render_mode="rgb_array",
                        size=5, image_size=16)
    native.reset(seed=4)
    sync.reset(seed=4)
    ours, theirs = native.render(), sync.render()
    assert type(ours) is type(theirs) is tuple and len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        assert a.shape == (16, 16, 3) and a.dtype == np.uint8 and np.array_equal(a, b)


@pytest.mark.parametrize("mode", ["NextStep", "SameStep"])
def test_gymnasium_vector_record_video_writes_a_video(tmp_path, mode):
    pytest.importorskip("moviepy")
    venv = gym.make_vec("vlenvs/Maze2D-v0", num_envs=2, render_mode="rgb_array", autoreset_mode=mode,
                        size=5, image_size=16, max_steps=6)
    venv = gym.wrappers.vector.RecordVideo(venv, str(tmp_path), episode_trigger=lambda k: k < 2, fps=8)
    venv.reset(seed=0)
    venv.action_space.seed(0)
    first_len = None
    for t in range(14):
        _, _, terminated, truncated, _ = venv.step(venv.action_space.sample())
        if first_len is None and (terminated[0] or truncated[0]):
            first_len = t + 1
    venv.close()
    videos = sorted(tmp_path.glob("*.mp4"))
    assert [v.name for v in videos][:2] == ["rl-video-episode-0.mp4", "rl-video-episode-1.mp4"]
    import imageio_ffmpeg

    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(videos[0]))
    # env 0's first episode (the envs' frames tiled side by side): the reset frame and one per step; under
    # SameStep Gymnasium's wrapper cannot see the final frame (it warns so)
    assert frames == first_len + (mode == "NextStep")


def test_check_env_with_default_arguments_on_a_core_install_without_pygame():
    code = textwrap.dedent("""
        import sys
        sys.modules["pygame"] = None  # what a core install without pygame looks like to an import
        import gymnasium as gym
        from gymnasium.utils.env_checker import check_env
        import vlenvs
        from vlenvs import InvalidConfigError
        for env_id in vlenvs.ENVS:
            env = gym.make(env_id)
            assert "human" not in env.metadata["render_modes"], env.metadata
            check_env(env.unwrapped)  # default arguments: every declared render mode is exercised
        from vlenvs.envs.maze2d import Maze2DEnv
        try:
            Maze2DEnv(render_mode="human")
        except InvalidConfigError as e:
            assert "pip install 'vlenvs[human]'" in str(e), e
        else:
            raise AssertionError("render_mode='human' without pygame was accepted")
        # gym.make does what it does for any env without 'human': its HumanRendering wrapper over rgb_array
        env = gym.make("vlenvs/Maze2D-v0", render_mode="human")
        assert isinstance(env.env, gym.wrappers.HumanRendering) or "HumanRendering" in str(env), env
        print("OK")
    """)
    proc = subprocess.run([sys.executable, "-W", "ignore::UserWarning", "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and proc.stdout.strip().endswith("OK"), proc.stderr[-3000:]


def test_human_is_declared_where_pygame_is_installed():
    pytest.importorskip("pygame")
    assert "human" in gym.make("vlenvs/Maze2D-v0").metadata["render_modes"]
