"""Configs and recipes: every bundled recipe validates; overrides; typed errors naming the valid choices."""

from __future__ import annotations

import pytest

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.train.config import (
    GRPOConfig,
    SFTConfig,
    TrainConfig,
    config_from_dict,
    load_recipe,
    parse_override,
    recipe_names,
)


def test_every_bundled_recipe_loads_and_validates():
    names = recipe_names()
    assert "maze2d_tiny_cpu" in names and len(names) >= 4
    for name in names:
        cfg = load_recipe(name)
        assert isinstance(cfg, TrainConfig) and cfg.name == name
        assert cfg.env.id.startswith("vlenvs/")


def test_overrides_reach_nested_fields_and_parse_values():
    cfg = load_recipe("maze2d_tiny_cpu", ["grpo.iterations=3", "grpo.lr=1e-4", "env.kwargs.image_size=48",
                                          "tensorboard=false", "out_dir=/tmp/x"])
    assert cfg.grpo.iterations == 3 and cfg.grpo.lr == pytest.approx(1e-4)
    assert cfg.env.kwargs["image_size"] == 48 and cfg.env.kwargs["max_steps"] == 8
    assert cfg.tensorboard is False and cfg.out_dir == "/tmp/x"
    assert parse_override("sampler.vllm.extra={a: 1}") == (["sampler", "vllm", "extra"], {"a": 1})


@pytest.mark.parametrize("overrides, match", [
    (["grpo.itterations=3"], "'itterations'.*iterations"),
    (["grpo.is_level=word"], "'word'.*token"),
    (["grpo.group_size=1"], "group_size"),
    (["sampler.backend=tgi"], "'tgi'.*vllm_engine"),
    (["sft.source=jsonl"], "sft.dataset"),
    (["nonsense"], "KEY=VALUE"),
    (["trainer.lr=1"], "'trainer'"),
])
def test_bad_overrides_raise_typed_errors(overrides, match):
    with pytest.raises(InvalidConfigError, match=match):
        load_recipe("maze2d_tiny_cpu", overrides)


def test_unknown_recipe_names_the_bundled_ones(tmp_path):
    with pytest.raises(InvalidConfigError, match="maze2d_tiny_cpu"):
        load_recipe("no_such_recipe")
    with pytest.raises(InvalidConfigError, match="does not exist"):
        load_recipe(tmp_path / "missing.yaml")


def test_component_validation():
    with pytest.raises(InvalidConfigError, match="clip_low"):
        GRPOConfig(clip_low=-0.1)
    with pytest.raises(InvalidConfigError, match="advantage"):
        GRPOConfig(advantage="step")
    with pytest.raises(InvalidConfigError, match="lr"):
        SFTConfig(lr=float("nan"))
    with pytest.raises(InvalidConfigError, match="openai_server"):
        config_from_dict({"sampler": {"backend": "openai_server"}, "grpo": {"iterations": 2}})
    assert config_from_dict({"sampler": {"backend": "openai_server"}, "grpo": {"iterations": 0}})
