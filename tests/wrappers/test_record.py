"""Episode recording: the written files hold exactly each episode's frames (reset frame + one per step),
for a single env and for chosen envs of a vector env under every autoreset mode; typed errors for bad args."""

from __future__ import annotations

import sys
import warnings
import zlib

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from PIL import Image, ImageSequence

import vlenvs  # noqa: F401
from vlenvs.core.errors import InvalidConfigError
from vlenvs.wrappers import RecordEpisodes, VectorImageOnly, VectorRecordEpisodes

ENV_ID = "vlenvs/Maze2D-v0"
KW = {"preset": "easy", "image_size": 20, "max_steps": 10}
FPS = 10  # 100 ms per frame, exact in a GIF's centiseconds


def policy(image: np.ndarray) -> int:
    """A deterministic function of the image: the same trajectories whatever the reset timing, with bumps."""
    return zlib.crc32(image.tobytes()) % 4


def read_gif(path) -> tuple[list[np.ndarray], list[int]]:
    with Image.open(path) as im:
        frames = [(np.array(f.convert("RGB")), f.info["duration"]) for f in ImageSequence.Iterator(im)]
    return [f for f, _ in frames], [d for _, d in frames]


def assert_gif_holds(path, expected: list[np.ndarray]) -> None:
    """The GIF shows ``expected`` in order; identical consecutive frames are one longer GIF frame (Pillow)."""
    runs: list[list] = []
    for frame in expected:
        if runs and np.array_equal(runs[-1][0], frame):
            runs[-1][1] += 1
        else:
            runs.append([frame, 1])
    frames, durations = read_gif(path)
    assert len(frames) == len(runs), f"{path.name}: {len(frames)} GIF frames, expected {len(runs)}"
    for k, ((want, count), got, ms) in enumerate(zip(runs, frames, durations)):
        assert np.array_equal(got, want), f"{path.name}: frame {k} differs"
        assert ms == count * 1000 // FPS, f"{path.name}: frame {k} lasts {ms} ms, expected {count * 100}"


def play_episode(env: gym.Env, obs: dict) -> list[np.ndarray]:
    """Follow :func:`policy` from ``obs`` (a reset observation) to the episode's end; the frames seen."""
    frames, done = [obs["image"]], False
    while not done:
        obs, _, te, tr, _ = env.step(policy(obs["image"]))
        frames.append(obs["image"])
        done = te or tr
    return frames


def reference_episodes(seed: int, count: int) -> list[list[np.ndarray]]:
    """``count`` episodes of a single env under :func:`policy`: reset frame, then one frame per step."""
    env = gym.make(ENV_ID, **KW)
    obs, _ = env.reset(seed=seed)
    episodes = []
    for _ in range(count):
        episodes.append(play_episode(env, obs))
        obs, _ = env.reset()
    return episodes


def test_gif_frame_count_is_episode_length_plus_one(tmp_path):
    env = RecordEpisodes(gym.make(ENV_ID, preset="medium", image_size=27), tmp_path, fps=FPS)
    obs, info = env.reset(seed=0)
    frames = [obs["image"]]
    done = False
    while not done:  # shortest path: every step moves, so no two frames are equal
        obs, _, te, tr, info = env.step(info["oracle_action"])
        frames.append(obs["image"])
        done = te or tr
    assert te and env.paths == [tmp_path / "Maze2D-v0-episode-0.gif"]
    gif_frames, durations = read_gif(env.paths[0])
    assert len(gif_frames) == info["steps"] + 1 == len(frames)
    assert all(np.array_equal(a, b) for a, b in zip(gif_frames, frames))
    assert durations == [100] * len(frames)


def test_repeated_frames_keep_their_time_and_episodes_are_numbered(tmp_path):
    env = RecordEpisodes(gym.make(ENV_ID, **KW), tmp_path, fps=FPS, name_prefix="run")
    expected = reference_episodes(5, 3)
    obs, _ = env.reset(seed=5)
    for _ in range(3):
        play_episode(env, obs)
        obs, _ = env.reset()
    assert [p.name for p in env.paths] == [f"run-episode-{k}.gif" for k in range(3)]
    assert any(len(e) != len(set(f.tobytes() for f in e)) for e in expected), "no bump: merging untested"
    for path, frames in zip(env.paths, expected):
        assert_gif_holds(path, frames)


def test_mp4_has_one_frame_per_step_plus_reset(tmp_path):
    ffmpeg = pytest.importorskip("imageio_ffmpeg")
    env = RecordEpisodes(gym.make(ENV_ID, **{**KW, "image_size": 21}), tmp_path, format="mp4", fps=FPS)
    frames = play_episode(env, env.reset(seed=1)[0])
    (path,) = env.paths
    assert path.suffix == ".mp4" and ffmpeg.count_frames_and_secs(str(path))[0] == len(frames)
    reader = ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert meta["size"] == (22, 22)  # odd sides padded to even for H.264
    decoded = np.frombuffer(next(reader), dtype=np.uint8).reshape(22, 22, 3)[:21, :21]
    assert np.abs(decoded.astype(int) - frames[0]).mean() < 12  # lossy, but the same picture


def test_trigger_max_frames_and_cut_episodes(tmp_path):
    env = RecordEpisodes(gym.make(ENV_ID, **KW), tmp_path, fps=FPS, episode_trigger=2, max_frames=3)
    expected = reference_episodes(2, 5)
    obs, _ = env.reset(seed=2)
    for _ in range(5):
        play_episode(env, obs)
        obs, _ = env.reset()  # starts the next episode
    obs, *_ = env.step(policy(obs["image"]))
    env.reset()  # cuts episode 5 (not recorded: 5 is odd) and starts episode 6 (recorded)
    env.close()  # cuts episode 6 after its reset frame: written too
    assert [p.name for p in env.paths] == [f"Maze2D-v0-episode-{k}.gif" for k in (0, 2, 4, 6)]
    for path, k in zip(env.paths[:3], (0, 2, 4)):
        assert_gif_holds(path, expected[k][:3])
    assert len(read_gif(env.paths[3])[0]) == 1

    calls = []
    env = RecordEpisodes(gym.make(ENV_ID, **KW), tmp_path / "sub", episode_trigger=lambda k: calls.append(k) or k == 1)
    for _ in range(3):
        env.reset(seed=0)
    assert calls == [0, 1, 2] and [p.name for p in env.paths] == ["Maze2D-v0-episode-1.gif"]


def test_gymnasium_check_env_passes(tmp_path):
    env = RecordEpisodes(gym.make(ENV_ID, **KW, render_mode="rgb_array"), tmp_path)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*different from the unwrapped version")
        check_env(env)
    env.close()
    assert env.paths and all(p.stat().st_size > 0 for p in env.paths)


def test_render_frames_of_a_single_env(tmp_path):
    with pytest.raises(InvalidConfigError, match="invalid render_mode None .* frames='render'"):
        RecordEpisodes(gym.make(ENV_ID, **KW), tmp_path, frames="render")
    env = RecordEpisodes(gym.make(ENV_ID, **KW, render_mode="rgb_array"), tmp_path, frames="render", fps=FPS)
    frames = play_episode(env, env.reset(seed=5)[0])
    assert_gif_holds(env.paths[0], frames)
    assert all(np.array_equal(a, b) for a, b in zip(frames, reference_episodes(5, 1)[0]))


@pytest.mark.parametrize("vectorization, mode, frames", [
    ("native", "NextStep", "observation"), ("native", "SameStep", "observation"), ("native", "Disabled", "observation"),
    ("native", "NextStep", "render"), ("native", "Disabled", "render"),
    ("sync", "NextStep", "render"), ("sync", "SameStep", "observation"),  # Gymnasium's SyncVectorEnv too
])
def test_vector_records_exactly_each_episode_of_the_chosen_envs(tmp_path, vectorization, mode, frames):
    n, seed, indices = 3, 7, (0, 2)
    if vectorization == "native":
        venv = gym.make_vec(ENV_ID, num_envs=n, autoreset_mode=mode, render_mode="rgb_array", **KW)
    else:
        venv = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode},
                            render_mode="rgb_array", **KW)
    rec = VectorRecordEpisodes(venv, tmp_path, env_indices=indices, frames=frames, fps=FPS)
    env = VectorImageOnly(rec)  # recording sits under other wrappers
    obs, _ = env.reset(seed=seed)
    finished = np.zeros(n, dtype=int)
    for _ in range(45):
        obs, _, te, tr, _ = env.step(np.array([policy(image) for image in obs]))
        done = te | tr
        finished += done
        if mode == "Disabled" and done.any():
            obs, _ = env.reset(options={"reset_mask": done})
    assert (finished[list(indices)] >= 2).all(), "too few episodes to test the autoreset path"
    for i in range(n):
        names = [p.name for p in rec.paths if f"-env-{i}-" in p.name]
        if i not in indices:
            assert names == []
            continue
        assert names == [f"Maze2D-v0-env-{i}-episode-{k}.gif" for k in range(finished[i])]
        for k, frames_k in enumerate(reference_episodes(seed + i, finished[i])):
            assert_gif_holds(tmp_path / names[k], frames_k)
    written = len(rec.paths)
    env.close()  # writes the episodes still running
    assert len(rec.paths) == written + len(indices)


@pytest.mark.parametrize("kwargs, message", [
    ({"format": "webm"}, "invalid format 'webm'; valid choices: 'gif', 'mp4'"),
    ({"frames": "pixels"}, "invalid frames 'pixels'; valid choices: 'observation', 'render'"),
    ({"episode_trigger": 0}, "invalid episode_trigger 0; expected an integer >= 1"),
    ({"episode_trigger": "often"}, "invalid episode_trigger 'often'"),
    ({"fps": 0}, r"invalid fps 0; expected a number in \[0.1, 100.0\]"),
    ({"max_frames": 0}, "invalid max_frames 0; expected an integer >= 1"),
    ({"name_prefix": "a/b"}, "invalid name_prefix 'a/b'"),
    ({"video_length": 5}, "invalid RecordConfig argument 'video_length'; valid choices: 'folder', "),
    ({"env_indices": (0, 3)}, r"invalid env index 3; expected an integer in \[0, 2\]"),
    ({"env_indices": (1, 1)}, r"invalid env_indices \(1, 1\); expected a non-empty sequence of distinct"),
    ({"env_indices": []}, r"invalid env_indices \[\]"),
])
def test_bad_arguments_raise_typed_errors(tmp_path, kwargs, message):
    with pytest.raises(InvalidConfigError, match=message):
        VectorRecordEpisodes(gym.make_vec(ENV_ID, num_envs=3, **KW), tmp_path, **kwargs)


def test_errors_for_frame_sources_and_env_kinds(tmp_path):
    same_step = gym.make_vec(ENV_ID, num_envs=2, autoreset_mode="SameStep", render_mode="rgb_array", **KW)
    with pytest.raises(InvalidConfigError, match="frames='render' cannot record the final frame .*SameStep"):
        VectorRecordEpisodes(same_step, tmp_path, frames="render")
    chw = VectorImageOnly(gym.make_vec(ENV_ID, num_envs=2, **KW), channels_first=True)
    with pytest.raises(InvalidConfigError, match=r"frames='observation' needs an image observation uint8\[H, W, 3\]"):
        VectorRecordEpisodes(chw, tmp_path)
    with pytest.raises(InvalidConfigError, match="for a vector env use VectorRecordEpisodes"):
        RecordEpisodes(gym.make_vec(ENV_ID, num_envs=2, **KW), tmp_path)
    with pytest.raises(InvalidConfigError, match="for a single env use RecordEpisodes"):
        VectorRecordEpisodes(gym.make(ENV_ID, **KW), tmp_path)


def test_mp4_without_imageio_ffmpeg_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)  # import fails as if not installed
    with pytest.raises(ImportError, match=r"pip install 'vlenvs\[record\]'"):
        RecordEpisodes(gym.make(ENV_ID, **KW), tmp_path, format="mp4")
