"""The adapter's spec lookup: thin over the envs' own language specs; unknown envs get a generic spec."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import vlenvs
import vlenvs_train.adapter.prompts as old_prompts
import vlenvs_train.chat as chat
from vlenvs.core.language import LanguageSpec, language_spec
from vlenvs_train.adapter.specs import ENV_SPECS, EnvSpec, generic_spec, spec_for_env


def test_env_specs_are_the_envs_own_language_specs():
    assert EnvSpec is LanguageSpec
    assert list(ENV_SPECS) == list(vlenvs.ENVS)
    for env_id, spec in ENV_SPECS.items():
        assert spec is language_spec(env_id) or spec == language_spec(env_id)
        assert spec_for_env(gym.make_vec(env_id, num_envs=1)) == spec


def test_an_env_without_a_spec_gets_a_generic_one():
    class Bare:
        num_envs = 1
        action_names = ("jump", "duck_low")
        single_action_space = gym.spaces.Discrete(2)

    spec = spec_for_env(Bare())
    assert spec == generic_spec(("jump", "duck_low")) and spec.action_help["duck_low"] == "duck low"
    assert spec.action_kind == "discrete" and spec.legal_actions(("jump",)) == ("jump",)
    text = generic_spec((), gym.spaces.Text(8))
    assert text.action_kind == "text" and text.fallback == "" and text.legal_actions(("a",)) == ()


def test_the_adapters_old_prompt_path_is_the_chat_package():
    for name in ("system_prompt", "user_text", "build_messages", "to_openai_messages", "Turn"):
        assert getattr(old_prompts, name) is getattr(chat, name)
    assert old_prompts.images_of(chat.build_messages("s", [], np.zeros((2, 2, 3), np.uint8), "t", False))[0].shape \
        == (2, 2, 3)
