"""Ordered evaluation: reset(options={"index": i}) from single and vector envs, order="sequential"
visiting every problem of a split exactly once across a vector env, and num_problems."""

import math

import gymnasium as gym
import numpy as np
import pytest

import vlenvs  # noqa: F401 - registers the ids
from vlenvs.core.errors import InvalidConfigError
from vlenvs.envs.geometry3k import Geometry3kEnv, Geometry3kVectorEnv

ID = "vlenvs/Geometry3k-v0"


@pytest.fixture
def big_tree(tmp_path):
    """A hub-layout test split of 7 problems with distinct answers."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from tests.envs.geometry3k.conftest import png

    n = 7
    (tmp_path / "data").mkdir()
    table = pa.table(
        {
            "images": [[{"bytes": png((30 * k, 10, 10)), "path": None}] for k in range(n)],
            "problem": [f"<image>Problem {k}." for k in range(n)],
            "answer": [str(10 + k) for k in range(n)],
            "choices": [[str(10 + k), "1", "2", "3"] for k in range(n)],
            "ground_truth": ["A"] * n,
            "id": [str(2401 + k) for k in range(n)],
        }
    )
    pq.write_table(table, tmp_path / "data" / "test-00000-of-00001.parquet")
    return str(tmp_path)


def test_single_env_index_option(big_tree):
    env = Geometry3kEnv(source="geometry3k", data_dir=big_tree, split="test", image_size=32)
    assert env.num_problems == 7
    for i in (6, 0, 3):
        obs, info = env.reset(options={"index": i})
        assert obs["instruction"].startswith(f"Problem {i}.") and info["problem_index"] == i
        assert info["num_problems"] == 7 and info["ground_truth"] == str(10 + i)
    with pytest.raises(InvalidConfigError, match="0..6"):
        env.reset(options={"index": 7})
    with pytest.raises(InvalidConfigError, match="index"):
        env.reset(options={"index": "3"})
    with pytest.raises(InvalidConfigError, match="'index'"):
        env.reset(options={"problem": 3})
    wrapped = gym.make(ID, source="geometry3k", data_dir=big_tree, split="test", image_size=32)
    _, info = wrapped.reset(options={"index": 5})
    assert info["problem_id"] == "test-2406" and wrapped.unwrapped.num_problems == 7


def test_vector_env_index_option_and_mask(big_tree):
    venv = Geometry3kVectorEnv(3, source="geometry3k", data_dir=big_tree, split="test", image_size=32)
    _, info = venv.reset(options={"index": [4, None, 0]})
    assert info["problem_index"][0] == 4 and info["problem_index"][2] == 0
    _, info = venv.reset(options={"index": [1, 2, 3], "reset_mask": np.array([False, True, False])})
    assert info["problem_index"].tolist() == [4, 2, 0]  # envs not reset keep their problem
    with pytest.raises(InvalidConfigError, match="expected 3"):
        venv.reset(options={"index": [1, 2]})
    with pytest.raises(InvalidConfigError, match="index"):
        venv.reset(options={"index": 1})


@pytest.mark.parametrize("num_envs", [1, 2, 3, 7, 10])
def test_sequential_vector_env_visits_every_problem_once(big_tree, num_envs):
    venv = gym.make_vec(ID, num_envs=num_envs, source="geometry3k", data_dir=big_tree, split="test",
                        order="sequential", mode="multiple_choice", image_size=32)
    _, info = venv.reset(seed=0)
    seen = []
    for _ in range(math.ceil(7 / num_envs)):
        first_pass = info["pass"] == 0
        seen += info["problem_index"][first_pass].tolist()
        _, reward, terminated, _, _ = venv.step(["\\boxed{A}"] * num_envs)
        assert terminated.all() and (reward == 1.0).all()
        _, _, _, _, info = venv.step(["\\boxed{B}"] * num_envs)  # NextStep autoreset: the next problems
    assert sorted(seen) == list(range(7))


def test_sequential_single_env_walks_in_order_and_wraps(big_tree):
    env = Geometry3kEnv(source="geometry3k", data_dir=big_tree, split="test", order="sequential", image_size=32)
    got = [env.reset(seed=0 if k == 0 else None)[1] for k in range(9)]
    assert [i["problem_index"] for i in got] == [0, 1, 2, 3, 4, 5, 6, 0, 1]
    assert [i["pass"] for i in got] == [0] * 7 + [1, 1]
    assert env.reset(seed=0)[1]["problem_index"] == 0  # a seeded reset restarts the walk


def test_generated_problems_by_index_are_fixed():
    a = Geometry3kEnv(image_size=32)
    b = Geometry3kVectorEnv(2, image_size=32)
    assert a.num_problems is None
    obs_a, info_a = a.reset(seed=1, options={"index": 42})
    obs_b, info_b = b.reset(seed=99, options={"index": [None, 42]})
    assert obs_a["instruction"] == obs_b["instruction"][1] and np.array_equal(obs_a["image"], obs_b["image"][1])
    assert info_a["problem_index"] == 42 and info_a["num_problems"] == -1
    other = Geometry3kEnv(image_size=32, split="test").reset(options={"index": 42})[0]
    assert other["instruction"] != obs_a["instruction"] or not np.array_equal(other["image"], obs_a["image"])
    seq = Geometry3kVectorEnv(2, image_size=32, order="sequential")
    _, info = seq.reset(seed=0)
    assert info["problem_index"].tolist() == [0, 1]
    assert seq.reset()[1]["problem_index"].tolist() == [2, 3]


def test_eval_preset_walks_the_test_split_in_order(big_tree):
    venv = gym.make_vec(ID, num_envs=4, preset="geometry3k_eval", data_dir=big_tree, image_size=32)
    _, info = venv.reset(seed=0)
    assert info["problem_index"].tolist() == [0, 1, 2, 3] and (info["num_problems"] == 7).all()
    assert venv.unwrapped.config.mode == "free_form" and venv.unwrapped.num_problems == 7
