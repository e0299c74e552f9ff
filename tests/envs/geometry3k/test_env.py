"""The env: actions are strings, rewards, attempts and feedback, info, typed errors."""

import gymnasium as gym
import numpy as np
import pytest

import vlenvs  # noqa: F401 - registers the ids
from vlenvs.core.errors import InvalidActionError, InvalidConfigError

ID = "vlenvs/Geometry3k-v0"


def make(**kw):
    return gym.make(ID, **{"image_size": 64, **kw})


def test_correct_answer_gets_reward_one_and_ends():
    env = make()
    obs, info = env.reset(seed=4)
    assert obs["instruction"].endswith("Give the final answer in \\boxed{}.")
    assert info["ground_truth"] and info["solution"] and info["attempts"] == 0
    obs, reward, terminated, truncated, info = env.step(f"Thinking... \\boxed{{{info['ground_truth']}}}")
    assert (reward, terminated, truncated) == (1.0, True, False)
    assert info["success"] and info["formatted"] and info["parsed_answer"] and info["attempts"] == 1


def test_wrong_answers_get_feedback_until_attempts_run_out():
    env = make(max_attempts=3)
    obs, info = env.reset(seed=1)
    problem = obs["instruction"]
    for left in (2, 1):
        obs, reward, terminated, truncated, info = env.step("\\boxed{123456}")
        assert (reward, terminated, truncated) == (0.0, False, False)
        assert info["parsed_answer"] == "123456" and f"({left} attempt" in info["feedback"]
        assert obs["instruction"].startswith(problem) and info["feedback"] in obs["instruction"]
    obs, reward, terminated, truncated, info = env.step("no idea")
    assert (reward, terminated, truncated) == (0.0, True, False) and info["feedback"] == ""
    assert not info["success"] and info["attempts"] == 3


def test_format_reward_is_off_by_default_and_small_when_on():
    env = make(format_reward=0.1)
    env.reset(seed=2)
    _, reward, terminated, _, info = env.step("\\boxed{123456}")
    assert reward == pytest.approx(0.1) and terminated and not info["success"]
    env.reset(seed=2)
    _, reward, *_ = env.step("123456")
    assert reward == 0.0
    plain = make()
    _, info = plain.reset(seed=2)
    _, reward, *_ = plain.step(f"\\boxed{{{info['ground_truth']}}}")
    assert reward == 1.0


def test_multiple_choice_mode():
    env = make(mode="multiple_choice")
    obs, info = env.reset(seed=8)
    assert "Choices: A. " in obs["instruction"] and " D. " in obs["instruction"]
    wrong = next(c for c in "ABCD" if c != info["ground_truth_letter"])
    _, reward, *_ = env.step(wrong)
    assert reward == 0.0
    env.reset(seed=8)
    _, reward, *_ = env.step(f"The answer is ({info['ground_truth_letter']}).")
    assert reward == 1.0


def test_vector_env_takes_a_batch_of_strings():
    venv = gym.make_vec(ID, num_envs=3, image_size=64)
    _, info = venv.reset(seed=0)
    answers = [f"\\boxed{{{g}}}" if i != 1 else "wrong" for i, g in enumerate(info["ground_truth"])]
    _, reward, terminated, truncated, info = venv.step(answers)
    assert reward.tolist() == [1.0, 0.0, 1.0] and terminated.all() and not truncated.any()
    assert info["success"].tolist() == [True, False, True] and info["_success"].all()
    _, reward, *_ = venv.step(np.array(["a", "b", "c"], dtype=object))  # NextStep autoreset
    assert reward.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("bad", [3, None, b"12", ["x"], 1.5])
def test_non_string_actions_raise(bad):
    env = make()
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match="expected a string|expected a sequence|one answer per env"):
        env.step(bad)


def test_bad_vector_batches_raise():
    venv = gym.make_vec(ID, num_envs=2, image_size=64)
    venv.reset(seed=0)
    with pytest.raises(InvalidActionError, match="expected 2 strings"):
        venv.step(["only one"])
    with pytest.raises(InvalidActionError, match="for env 1"):
        venv.step(["ok", 7])
    with pytest.raises(InvalidActionError, match="sequence of 2 strings"):
        venv.step("not a batch")


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"source": "web"}, "source"),
        ({"split": "dev"}, "split"),
        ({"mode": "essay"}, "mode"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"format_reward": 2.0}, "format_reward"),
        ({"difficulty": "insane"}, "difficulty"),
        ({"topics": ("knots",)}, "topic"),
        ({"topics": ()}, "topics"),
        ({"image_size": 8}, "image_size"),
        ({"data_dir": 3}, "data_dir"),
        ({"colour": 1}, "argument"),
    ],
)
def test_bad_config_raises_typed_errors(kw, match):
    with pytest.raises(InvalidConfigError, match=match):
        make(**kw)


def test_presets_topics_and_splits():
    env = make(preset="easy", topics=("circles",))
    _, info = env.reset(seed=0)
    assert info["family"] in {"inscribed_angle", "arc_length", "sector_area", "intersecting_chords", "tangent"}
    a, _ = make(split="train").reset(seed=5)
    b, _ = make(split="test").reset(seed=5)
    assert a["instruction"] != b["instruction"] or not np.array_equal(a["image"], b["image"])


def test_ansi_render_describes_the_diagram():
    env = make(render_mode="ansi")
    env.reset(seed=3)
    text = env.render()
    assert "Diagram:" in text and "points:" in text


@pytest.mark.parametrize("mode", ["free_form", "multiple_choice"])
def test_oracle_answer_solves_every_problem(mode):
    venv = gym.make_vec(ID, num_envs=8, image_size=64, mode=mode, difficulty="hard")
    _, info = venv.reset(seed=0)
    for _ in range(3):
        _, reward, terminated, _, info_after = venv.step([f"\\boxed{{{a}}}" for a in info["oracle_answer"]])
        assert reward.tolist() == [1.0] * 8 and terminated.all() and info_after["success"].all()
        info = venv.reset()[1]  # new problems (unseeded reset continues each env's generator)


def test_an_answer_the_grader_refuses_is_wrong_and_flagged_ungradable():
    env = make(max_attempts=3)
    _, info = env.reset(seed=2)
    assert not info["ungradable"]
    for reply, flagged in (("\\boxed{x^2}", True), ("\\boxed{10^{100000}}", True), ("\\boxed{99999}", False)):
        _, reward, _, _, info = env.step(reply)
        assert reward == 0.0 and not info["success"]
        assert bool(info["ungradable"]) == flagged == info["grade_method"].startswith("rejected:")
