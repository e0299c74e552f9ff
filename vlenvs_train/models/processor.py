"""Loading the processor of a Qwen-VL style model, with or without a working torchvision.

Qwen2.5-VL's and Qwen3-VL's stock processors also build a video processor, which needs torchvision; PyPI's
torchvision is a CUDA build that does not import beside the CPU torch. :class:`VLImageTextProcessor` is the
same image + text processing without the video part (images go through the PIL image processor), so
:func:`load_processor` works from any local folder or hub id on a machine without torchvision, and gives
the stock processor where torchvision works (e.g. inside the vLLM environment).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from transformers import AutoProcessor, ProcessorMixin
from transformers.models.qwen2_5_vl.processing_qwen2_5_vl import Qwen2_5_VLProcessor

from vlenvs_train.chat.tokens import VISION_SPECIAL_TOKENS


class VLImageTextProcessor(Qwen2_5_VLProcessor):
    """Qwen-VL image + text processor without a video processor: expands ``<|image_pad|>`` to one token per
    merged patch and returns ``input_ids``, ``pixel_values``, ``image_grid_thw`` and ``mm_token_type_ids``."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None, chat_template: str | None = None,
                 **kwargs: Any) -> None:
        self.image_token = getattr(tokenizer, "image_token", None) or "<|image_pad|>"
        self.video_token = getattr(tokenizer, "video_token", None) or "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template, **kwargs)


@functools.cache
def torchvision_works() -> bool:
    """Whether ``import torchvision`` succeeds here (it fails for PyPI's CUDA build beside CPU torch)."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # ImportError, or RuntimeError from its missing C++ operators
        return False
    return True


def load_processor(name_or_path: str | Path, **kwargs: Any) -> Any:
    """The model's processor: the stock one where torchvision works, else :class:`VLImageTextProcessor`."""
    if torchvision_works():
        return AutoProcessor.from_pretrained(str(name_or_path), **kwargs)
    return VLImageTextProcessor.from_pretrained(str(name_or_path), **kwargs)


def vision_special_token_ids(tokenizer: Any) -> list[int]:
    """Ids of the vision special tokens this tokenizer has."""
    vocab = tokenizer.get_vocab()
    return sorted(vocab[t] for t in VISION_SPECIAL_TOKENS if t in vocab)


def end_token_ids(tokenizer: Any, generation_config: Any = None) -> list[int]:
    """Token ids that end a reply: the generation config's ``eos_token_id`` plus ``<|im_end|>`` if present."""
    ids: list[int] = []
    eos = getattr(generation_config, "eos_token_id", None) if generation_config is not None else None
    if eos is not None:
        ids += list(eos) if isinstance(eos, (list, tuple)) else [eos]
    vocab = tokenizer.get_vocab()
    if "<|im_end|>" in vocab:
        ids.append(vocab["<|im_end|>"])
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    return sorted(set(ids))
