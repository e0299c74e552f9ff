"""A vLLM logits processor that bans the vision special tokens in every request of an engine.

It applies the same mask as a request's ``bad_words`` (each vision special token is one token, so ``bad_words``
bans exactly those ids, at every position, before temperature and before the processed log-probs are taken), but
vLLM re-tokenizes a request's ``bad_words`` for every request (0.2 ms each on this 2-core CPU, against ~3 ms per
request for the whole engine with the tiny model) and applies them in a Python loop over requests at every step;
this processor looks the ids up once, when the engine starts, and masks the whole batch in one tensor operation.

Imported by vLLM only (``vllm.LLM(logits_processors=[SuppressVisionTokens])``); it needs vLLM and torch.
"""

from __future__ import annotations

from typing import Any

import torch
from vllm.v1.sample.logits_processor import BatchUpdate, LogitsProcessor

from vlenvs_train.models.processor import vision_special_token_ids


class SuppressVisionTokens(LogitsProcessor):
    """Sets the logits of the model's vision special tokens to ``-inf`` for every row of every step."""

    def __init__(self, vllm_config: Any, device: torch.device, is_pin_memory: bool) -> None:
        from vllm.tokenizers import cached_tokenizer_from_config

        ids = vision_special_token_ids(cached_tokenizer_from_config(vllm_config.model_config))
        self.ids = torch.tensor(ids, dtype=torch.long, device=device)

    def is_argmax_invariant(self) -> bool:
        return False  # a ban changes greedy picks too

    def update_state(self, batch_update: BatchUpdate | None) -> None:
        return None  # the same ban for every request: nothing to track per row

    def apply(self, logits: torch.Tensor) -> torch.Tensor:
        if self.ids.numel():
            logits.index_fill_(1, self.ids, float("-inf"))
        return logits
