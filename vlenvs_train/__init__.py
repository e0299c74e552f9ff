"""vlenvs_train: turn batches of vlenvs observations into one policy call, and the policy's text into actions.

``import vlenvs_train`` is light (numpy, gymnasium): torch/transformers load only when a transformers-backed
piece is used, vLLM only inside :mod:`vlenvs_train.policies.vllm_engine`, httpx only in the server client.

- :mod:`vlenvs_train.adapter`: per-env prompts and parsers, :class:`BatchedAgent`.
- :mod:`vlenvs_train.policies`: the :class:`BatchedPolicy` protocol and its backends (``hf``, ``vllm_engine``,
  ``openai_server``, ``oracle``/``random``), and :mod:`~vlenvs_train.policies.scoring` (trainer-side log-probs).
- :mod:`vlenvs_train.models.tiny`: builds the tiny offline Qwen2.5-VL model folder.
- :mod:`vlenvs_train.rollout`: a synchronous episode-collection loop.
"""

from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.adapter.specs import ENV_SPECS, EnvSpec, spec_for_env
from vlenvs_train.policies import BatchedPolicy, PolicyError, PolicyOutput, PolicyRequest, SamplingConfig, StepRecord
from vlenvs_train.rollout.collect import Episode, collect_episodes

__all__ = [
    "ENV_SPECS",
    "AgentConfig",
    "BatchedAgent",
    "BatchedPolicy",
    "Episode",
    "EnvSpec",
    "PolicyError",
    "PolicyOutput",
    "PolicyRequest",
    "SamplingConfig",
    "StepRecord",
    "collect_episodes",
    "spec_for_env",
]
