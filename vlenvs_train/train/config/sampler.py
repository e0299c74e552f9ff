"""The ``sampler`` section: who samples the rollouts; its nested ``vllm``/``server`` settings are checked by the
backends' own config classes (imported without vLLM or torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from vlenvs.core.config import check_choice, check_float, check_int
from vlenvs_train.train.config.fields import build_section

BACKENDS = ("hf", "vllm_engine", "openai_server")


@dataclass(frozen=True)
class SamplerConfig:
    """Who samples the rollouts (the trainer's weights are synced to it after every update)."""

    backend: Literal["hf", "vllm_engine", "openai_server"] = "hf"
    """``"hf"``: transformers ``generate`` on the trained model itself (in-process, no copy); ``"vllm_engine"``:
    an in-process ``vllm.LLM`` updated with ``update_weights``; ``"openai_server"``: one or several vLLM
    servers (``server.base_urls``; started with ``vlenvs-train serve``), which load the trained weights from
    ``server.weight_sync_dir`` after every update."""
    temperature: float = 1.0
    """Sampling temperature of training rollouts."""
    max_new_tokens: int = 16
    """Longest reply in tokens."""
    seed: int = 0
    """Sampler seed (restored on resume)."""
    vllm: dict[str, Any] = field(default_factory=dict)
    """:class:`~vlenvs_train.policies.vllm_engine.VLLMEngineConfig` fields (``vllm_engine``); validated by that
    class whatever the backend is."""
    server: dict[str, Any] = field(default_factory=dict)
    """:class:`~vlenvs_train.policies.openai_server.ServerConfig` fields (``openai_server``); validated by that
    class whatever the backend is."""

    def __post_init__(self) -> None:
        check_choice("sampler.backend", self.backend, BACKENDS)
        check_float("sampler.temperature", self.temperature, 0.0, 100.0)
        check_int("sampler.max_new_tokens", self.max_new_tokens, 1, 1_000_000)
        check_int("sampler.seed", self.seed, 0, 2**62)
        # the backends' modules import vLLM/torch only when a policy is made, not for their configs
        from vlenvs_train.policies.openai_server import ServerConfig
        from vlenvs_train.policies.vllm_engine import VLLMEngineConfig

        build_section(VLLMEngineConfig, self.vllm, "sampler.vllm", prefix=True)
        build_section(ServerConfig, self.server, "sampler.server", prefix=True)
