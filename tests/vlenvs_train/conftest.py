"""Shared fixtures: the tiny offline VLM (built once per session) and a transformers policy over it."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from vlenvs_train.models.tiny import build_tiny_vlm

    return build_tiny_vlm(tmp_path_factory.mktemp("tiny-vlm"))


@pytest.fixture(scope="session")
def hf_policy(tiny_model_path):
    import torch

    from vlenvs_train.policies.base import SamplingConfig
    from vlenvs_train.policies.hf import HFPolicy

    torch.set_num_threads(1)
    return HFPolicy(tiny_model_path, sampling=SamplingConfig(max_new_tokens=12, seed=0), device="cpu")
