"""The leaf of vlenvs_train: chat messages, prompt text, the policy request/reply types and special tokens.

Imports nothing else of vlenvs_train (only :mod:`vlenvs.core.language` for env language specs), so every
other package may import it.
"""

from vlenvs_train.chat.messages import Turn, build_messages, images_of, to_openai_messages, to_pil, to_template_messages
from vlenvs_train.chat.prompts import ANSWER_FORMATS, PROMPT_STYLES, answer_format_text, system_prompt, user_text
from vlenvs_train.chat.tokens import VISION_SPECIAL_TOKENS
from vlenvs_train.chat.types import BatchedPolicy, PolicyError, PolicyOutput, PolicyRequest, check_outputs

__all__ = [
    "ANSWER_FORMATS",
    "PROMPT_STYLES",
    "VISION_SPECIAL_TOKENS",
    "BatchedPolicy",
    "PolicyError",
    "PolicyOutput",
    "PolicyRequest",
    "Turn",
    "answer_format_text",
    "build_messages",
    "check_outputs",
    "images_of",
    "system_prompt",
    "to_openai_messages",
    "to_pil",
    "to_template_messages",
    "user_text",
]
