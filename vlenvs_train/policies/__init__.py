"""Policy backends behind one protocol.

Light to import: the backends load their heavy dependencies only when used —
``vlenvs_train.policies.hf.HFPolicy`` (transformers), ``.vllm_engine.VLLMEnginePolicy`` (vLLM),
``.openai_server.OpenAIServerPolicy`` (httpx), ``.oracle.OraclePolicy``/``RandomPolicy`` (none), and
``.scoring.response_logprobs`` (torch) for the trainer's re-scoring.
"""

from vlenvs_train.policies.base import (
    BatchedPolicy,
    PolicyError,
    PolicyOutput,
    PolicyRequest,
    SamplingConfig,
    StepRecord,
)
from vlenvs_train.policies.oracle import OraclePolicy, RandomPolicy

__all__ = [
    "BatchedPolicy",
    "OraclePolicy",
    "PolicyError",
    "PolicyOutput",
    "PolicyRequest",
    "RandomPolicy",
    "SamplingConfig",
    "StepRecord",
]
