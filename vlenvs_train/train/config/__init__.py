"""Trainer configuration: one validated dataclass per component, recipes as YAML files, ``key=value`` overrides.

A recipe is a YAML mapping with one section per component (``model``, ``env``, ``agent``, ``sampler``,
``sft``, ``grpo``, ``eval``, ``rollout``) plus the run's own keys (and optionally ``base: OTHER_RECIPE`` to
extend one); :func:`load_recipe` reads a bundled recipe by name
(``vlenvs_train/recipes/NAME.yaml``) or any path, applies overrides such as ``grpo.iterations=5`` and
validates everything before any work starts: unknown keys and values of the wrong type in every section
(nested ones too: ``sampler.vllm``, ``sampler.server``, ``model.tiny``, ``env.kwargs``), the env id, preset and
config, the model path and device, and that ``out_dir`` can be written. Each problem raises
:class:`~vlenvs.core.errors.InvalidConfigError` naming the dotted key and the valid choices; no model is loaded
and no env is built.

One module per section: :mod:`.model`, :mod:`.env`, :mod:`.sampler`, :mod:`.stages` (``sft``, ``grpo``,
``eval``), :mod:`.rollout`; :mod:`.run` holds :class:`TrainConfig` and its cross-section checks, :mod:`.recipes`
the YAML side, :mod:`.fields` the key and type checks they share.
"""

from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.rollout.pipeline import PipelineConfig
from vlenvs_train.train.config.env import EnvConfig, check_env
from vlenvs_train.train.config.fields import build_section, check_keys, check_value
from vlenvs_train.train.config.model import DEVICES, DTYPES, ModelConfig, check_device, check_model_path
from vlenvs_train.train.config.recipes import (
    RECIPES_DIR,
    apply_overrides,
    deep_merge,
    load_recipe,
    load_yaml,
    parse_override,
    read_recipe,
    recipe_names,
    recipe_path,
    save_config,
)
from vlenvs_train.train.config.rollout import ROLLOUT_BACKENDS, RolloutConfig
from vlenvs_train.train.config.run import SECTIONS, TrainConfig, check_out_dir, config_from_dict
from vlenvs_train.train.config.sampler import BACKENDS, SamplerConfig
from vlenvs_train.train.config.stages import EvalConfig, GRPOConfig, SFTConfig

__all__ = [
    "BACKENDS", "DEVICES", "DTYPES", "RECIPES_DIR", "ROLLOUT_BACKENDS", "SECTIONS",
    "AgentConfig", "EnvConfig", "EvalConfig", "GRPOConfig", "ModelConfig", "PipelineConfig", "RolloutConfig", "SFTConfig",
    "SamplerConfig", "TrainConfig",
    "apply_overrides", "build_section", "check_device", "check_env", "check_keys", "check_model_path",
    "check_out_dir", "check_value", "config_from_dict", "deep_merge", "load_recipe", "load_yaml",
    "parse_override", "read_recipe", "recipe_names", "recipe_path", "save_config",
]
