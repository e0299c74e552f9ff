"""Observations -> prompts -> one policy call -> parsed actions (per-env specs, prompts, parsers, BatchedAgent)."""

from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.adapter.parsing import ParseResult, extract_answer, make_parser
from vlenvs_train.adapter.prompts import Turn, build_messages, system_prompt, to_openai_messages, to_template_messages
from vlenvs_train.adapter.specs import ENV_SPECS, EnvSpec, spec_for_env

__all__ = [
    "ENV_SPECS",
    "AgentConfig",
    "BatchedAgent",
    "EnvSpec",
    "ParseResult",
    "Turn",
    "build_messages",
    "extract_answer",
    "make_parser",
    "spec_for_env",
    "system_prompt",
    "to_openai_messages",
    "to_template_messages",
]
