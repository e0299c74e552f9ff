"""Canonical messages -> prompt text, token ids and multimodal tensors, with the model's own processor.

The transformers backend generates from :class:`PromptEncoder`'s output, and the trainer encodes SFT examples with
it. The vLLM engine renders the chat template text with it and leaves tokenization and image processing to vLLM
(recording vLLM's rendering); the server client checks the server's prompt tokens against the encoder's, so the
multimodal tensors it records belong to exactly those tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vlenvs_train.chat.messages import to_template_messages
from vlenvs_train.policies.base import PolicyError


@dataclass
class EncodedPrompt:
    """One prompt as the model sees it."""

    text: str
    images: list[Image.Image]
    prompt_ids: np.ndarray
    mm_inputs: dict[str, np.ndarray]


class PromptEncoder:
    """Renders the chat template and runs the processor (one request at a time: records stay per-request)."""

    def __init__(self, processor: Any) -> None:
        self.processor = processor
        self.tokenizer = getattr(processor, "tokenizer", processor)

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path) -> PromptEncoder:
        from vlenvs_train.models.processor import load_processor

        return cls(load_processor(name_or_path))

    @property
    def pad_id(self) -> int:
        pad = self.tokenizer.pad_token_id
        return int(pad if pad is not None else self.tokenizer.eos_token_id)

    def render(self, messages: Sequence[dict[str, Any]]) -> tuple[str, list[Image.Image]]:
        template_messages, images = to_template_messages(messages)
        text = self.processor.apply_chat_template(template_messages, tokenize=False, add_generation_prompt=True)
        return text, images

    def encode(self, messages: Sequence[dict[str, Any]]) -> EncodedPrompt:
        text, images = self.render(messages)
        out = self.processor(text=[text], images=images or None, return_tensors="np")
        ids = np.asarray(out["input_ids"][0], dtype=np.int64)
        mm: dict[str, np.ndarray] = {}
        for key, value in out.items():
            if key in ("input_ids", "attention_mask"):
                continue
            arr = np.asarray(value)
            mm[key] = arr[0] if key in ("mm_token_type_ids", "token_type_ids") else arr
        return EncodedPrompt(text, images, ids, mm)

    def check_same_prompt(self, ours: np.ndarray, theirs: Sequence[int], who: str) -> None:
        """Raise unless the sampler tokenized the prompt exactly as the processor did."""
        theirs = np.asarray(theirs, dtype=np.int64)
        if ours.shape != theirs.shape or not np.array_equal(ours, theirs):
            n = min(len(ours), len(theirs))
            first = next((i for i in range(n) if ours[i] != theirs[i]), n)
            raise PolicyError(
                f"{who} tokenized the prompt differently from the local processor ({len(theirs)} vs {len(ours)} "
                f"tokens, first difference at {first}); the model folder's chat template, tokenizer or image "
                "processor differ between the two"
            )
