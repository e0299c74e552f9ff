"""Env language specs live in each env's folder and are found through the registry."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import gymnasium as gym
import pytest

import vlenvs
from vlenvs import InvalidConfigError
from vlenvs.core.language import LanguageSpec, language_module, language_spec, language_specs

FOLDERS = {"vlenvs/Maze2D-v0": "maze2d", "vlenvs/GridWorld3D-v0": "gridworld3d", "vlenvs/Geometry3k-v0": "geometry3k"}


@pytest.mark.parametrize("env_id", sorted(vlenvs.ENVS))
def test_every_vlenvs_env_has_its_spec_in_its_folder(env_id):
    assert language_module(env_id) == f"vlenvs.envs.{FOLDERS[env_id]}.language"
    spec = language_spec(env_id)
    assert isinstance(spec, LanguageSpec) and spec.task
    env = gym.make_vec(env_id, num_envs=1)
    names = tuple(env.unwrapped.action_names) if spec.action_kind == "discrete" else ()
    assert set(spec.action_help) >= set(names)  # every action the env has is explained
    assert set(spec.synonyms.values()) <= set(spec.action_help)  # synonyms name real actions


def test_specs_come_in_registration_order():
    assert list(language_specs()) == list(vlenvs.ENVS)
    assert language_specs(("vlenvs/Geometry3k-v0",)) == {"vlenvs/Geometry3k-v0": language_spec("vlenvs/Geometry3k-v0")}


def test_maze2d_phrases_are_its_instructions():
    from vlenvs.envs.maze2d.tasks import REACH_TEMPLATES

    phrases = language_spec("vlenvs/Maze2D-v0").phrases
    assert len(phrases) == len(REACH_TEMPLATES) and all("{" not in p for p in phrases)


def test_unknown_ids_and_envs_without_a_language_module_have_none(tmp_path, monkeypatch):
    assert language_spec("vlenvs/Nope-v0") is None
    assert language_spec("CartPole-v1") is None  # gymnasium's own package has no language module


def test_a_new_env_brings_its_language_in_its_own_folder(tmp_path, monkeypatch):
    pkg = tmp_path / "thirdparty_env"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "env.py").write_text("from gymnasium.envs.classic_control.cartpole import CartPoleEnv as Env\n")
    (pkg / "language.py").write_text(textwrap.dedent('''
        from vlenvs.core.language import LanguageSpec
        LANGUAGE = LanguageSpec(name="Pole", task="Keep the pole up.", action_help={"0": "push left"})
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    gym.register("thirdparty/Pole-v0", entry_point="thirdparty_env.env:Env")
    try:
        spec = language_spec("thirdparty/Pole-v0")
        assert spec is not None and spec.name == "Pole"
    finally:
        del gym.registry["thirdparty/Pole-v0"]


def test_bad_action_kind_is_a_typed_error():
    with pytest.raises(InvalidConfigError, match="action_kind 'words'"):
        LanguageSpec(name="x", task="y", action_kind="words")  # type: ignore[arg-type]


def test_language_modules_are_light():
    code = ("import sys; from vlenvs.core.language import language_specs; language_specs(); "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('vlenvs_train', 'torch', 'transformers', 'sympy')];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
