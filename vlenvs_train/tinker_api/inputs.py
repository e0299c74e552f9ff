"""Tinker model inputs (token chunks and image chunks) -> the model's token ids and multimodal tensors.

A Tinker client renders its chat itself and sends token ids; each image is an image chunk in the place of the
image's placeholder tokens (for Qwen-VL: between ``<|vision_start|>`` and ``<|vision_end|>``). The service
expands every image chunk into the model's image-pad tokens, one per merged patch, and runs the model's own image
processor on the image, so the ids and tensors are those the model's processor makes for the same chat
(:class:`~vlenvs_train.policies.encode.PromptEncoder`; tested). The result is what the trainer's scoring
(:func:`~vlenvs_train.policies.scoring.collate`) takes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from vlenvs.core.errors import RequestError
from vlenvs_train.tinker_api.wire import Chunk, ImagePart

#: Largest image side accepted (pixels): a bound on the memory a request can make the service use.
MAX_IMAGE_SIDE = 4096


@dataclass
class ModelTokens:
    """One model input as the model sees it."""

    ids: np.ndarray
    """All token ids, image pads included (``int64``)."""
    mm_inputs: dict[str, np.ndarray]
    """The processor's tensors for these ids (``pixel_values``, ``image_grid_thw``, ``mm_token_type_ids``)."""
    image_positions: np.ndarray
    """Boolean mask over ``ids``: the image-pad positions."""


class InputBuilder:
    """Builds :class:`ModelTokens` with a model's processor (its tokenizer's image-pad id and image processor);
    token ids must be below ``vocab_size`` (the model's, which may exceed the tokenizer's)."""

    def __init__(self, processor: Any, max_tokens: int, vocab_size: int) -> None:
        self.processor = processor
        tok = getattr(processor, "tokenizer", processor)
        self.image_pad_id = int(tok.convert_tokens_to_ids(getattr(processor, "image_token", "<|image_pad|>")))
        self.vocab_size = vocab_size
        self.max_tokens = max_tokens
        self.merge = int(getattr(processor.image_processor, "merge_size", 1))

    def _image(self, part: ImagePart, what: str) -> tuple[dict[str, np.ndarray], int]:
        try:
            image = Image.open(io.BytesIO(part.data))
            if (image.format or "").lower() != part.format:
                raise RequestError(f"{what}: the image data is {image.format}, not {part.format!r} as the chunk says")
            if max(image.size) > MAX_IMAGE_SIDE:
                raise RequestError(f"{what}: image of {image.size[0]}x{image.size[1]} pixels; the largest side "
                                   f"accepted is {MAX_IMAGE_SIDE}")
            image = image.convert("RGB")
        except (OSError, Image.DecompressionBombError) as e:
            raise RequestError(f"{what}: the image data cannot be decoded as {part.format} ({e})") from None
        out = self.processor.image_processor(images=[image], return_tensors="np")
        grid = np.asarray(out["image_grid_thw"])
        n = int(np.prod(grid)) // (self.merge * self.merge)
        if part.expected_tokens is not None and part.expected_tokens != n:
            raise RequestError(f"{what}: expected_tokens is {part.expected_tokens} but this model's processor makes "
                               f"{n} tokens of this {image.size[0]}x{image.size[1]} image")
        return {"pixel_values": np.asarray(out["pixel_values"]), "image_grid_thw": grid}, n

    def build(self, chunks: Sequence[Chunk], what: str) -> ModelTokens:
        """The token ids and tensors of ``chunks``; a :class:`RequestError` names any bad chunk."""
        ids: list[np.ndarray] = []
        images: list[dict[str, np.ndarray]] = []
        for k, chunk in enumerate(chunks):
            if isinstance(chunk, ImagePart):
                tensors, n = self._image(chunk, f"{what} chunk {k}")
                images.append(tensors)
                ids.append(np.full(n, self.image_pad_id, dtype=np.int64))
            else:
                bad = (chunk < 0) | (chunk >= self.vocab_size) | (chunk == self.image_pad_id)
                if bad.any():
                    raise RequestError(f"{what} chunk {k}: token id {int(chunk[bad][0])} is not a text token of this "
                                       f"model (valid: 0..{self.vocab_size - 1}, image pads only through image chunks)")
                ids.append(chunk)
        all_ids = np.concatenate(ids) if ids else np.zeros(0, dtype=np.int64)
        if not len(all_ids):
            raise RequestError(f"{what}: the model input is empty")
        if len(all_ids) > self.max_tokens:
            raise RequestError(f"{what}: {len(all_ids)} tokens; this service accepts at most {self.max_tokens}")
        pads = all_ids == self.image_pad_id
        mm: dict[str, np.ndarray] = {}
        if "mm_token_type_ids" in getattr(self.processor, "model_input_names", ()):
            mm["mm_token_type_ids"] = np.asarray(self.processor.create_mm_token_type_ids([all_ids])[0], dtype=np.int64)
        if images:
            mm["pixel_values"] = np.concatenate([t["pixel_values"] for t in images])
            mm["image_grid_thw"] = np.concatenate([t["image_grid_thw"] for t in images])
        return ModelTokens(all_ids, mm, pads)
