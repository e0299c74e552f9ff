"""vlenvs_train: turn batches of vlenvs observations into one policy call, and the policy's text into actions.

``import vlenvs_train`` is light (numpy, gymnasium): torch/transformers load only when a transformers-backed
piece is used, vLLM only inside :mod:`vlenvs_train.policies.vllm_engine`, httpx only in the server client.

Packages import downward only: ``cli -> train -> algos -> rollout -> policies -> adapter -> chat``
(``models``, beside ``chat``, imports only ``chat``; ``integrations`` sits beside ``train``).

- :mod:`vlenvs_train.chat`: the leaf: chat messages, prompt text, policy request/reply types, special tokens.
- :mod:`vlenvs_train.adapter`: parsers and :class:`BatchedAgent` (env language specs come from the envs'
  own ``language.py``, :mod:`vlenvs.core.language`).
- :mod:`vlenvs_train.policies`: the :class:`BatchedPolicy` protocol and its backends (``hf``, ``vllm_engine``,
  ``openai_server``, ``oracle``/``random``), and :mod:`~vlenvs_train.policies.scoring` (trainer-side log-probs).
- :mod:`vlenvs_train.models.tiny`: builds the tiny offline Qwen2.5-VL model folder.
- :mod:`vlenvs_train.rollout`: the one episode loop (every autoreset mode), synchronous or on env workers.
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
