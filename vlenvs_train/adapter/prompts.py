"""Observations to chat prompts: the prompt text and message helpers of :mod:`vlenvs_train.chat`, under the
adapter's older import path."""

from vlenvs_train.chat.messages import (
    Turn,
    build_messages,
    encode_png,
    images_of,
    png_data_url,
    to_openai_messages,
    to_pil,
    to_template_messages,
)
from vlenvs_train.chat.prompts import (
    ANSWER_FORMATS,
    PROMPT_STYLES,
    AnswerFormat,
    PromptStyle,
    answer_format_text,
    system_prompt,
    user_text,
)

__all__ = [
    "ANSWER_FORMATS",
    "PROMPT_STYLES",
    "AnswerFormat",
    "PromptStyle",
    "Turn",
    "answer_format_text",
    "build_messages",
    "encode_png",
    "images_of",
    "png_data_url",
    "system_prompt",
    "to_openai_messages",
    "to_pil",
    "to_template_messages",
    "user_text",
]
