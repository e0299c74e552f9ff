"""Chat messages: the canonical form, and the forms processors and OpenAI-style servers take.

The canonical message form is the one transformers' chat templates read: ``{"role": ..., "content": [parts]}``
with parts ``{"type": "text", "text": str}`` and ``{"type": "image", "image": uint8[H, W, 3]}``.
:func:`to_template_messages` turns it into what ``processor.apply_chat_template`` takes plus the image list;
:func:`to_openai_messages` into OpenAI/vLLM chat form (``image_url`` parts with base64 PNG data URLs).
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Turn:
    """One past turn of an env's episode: what the agent saw and said."""

    image: np.ndarray | None
    user_text: str
    reply: str
    encoded: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    """Encodings of ``image`` made so far (e.g. its PNG data URL), reused while the turn is in the window."""


def build_messages(system: str, history: Sequence[Turn], image: np.ndarray, text: str,
                   history_images: bool, image_cache: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """System prompt, the past turns (with or without their images), then the current image and text.

    Image parts may carry a ``cache`` dict where encoders keep the image's encodings (a turn's image is
    encoded once, not on every step it stays in the history window).
    """
    messages: list[dict[str, Any]] = [{"role": "system", "content": [{"type": "text", "text": system}]}]
    for turn in history:
        parts: list[dict[str, Any]] = []
        if history_images and turn.image is not None:
            parts.append({"type": "image", "image": turn.image, "cache": turn.encoded})
        parts.append({"type": "text", "text": turn.user_text})
        messages.append({"role": "user", "content": parts})
        messages.append({"role": "assistant", "content": [{"type": "text", "text": turn.reply}]})
    current = {"type": "image", "image": image, "cache": image_cache if image_cache is not None else {}}
    messages.append({"role": "user", "content": [current, {"type": "text", "text": text}]})
    return messages


def images_of(messages: Sequence[dict[str, Any]]) -> list[np.ndarray]:
    """The images of a conversation in order of appearance."""
    return [p["image"] for m in messages if isinstance(m["content"], list)
            for p in m["content"] if p["type"] == "image"]


def to_template_messages(messages: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Image.Image]]:
    """Messages for ``apply_chat_template`` (image parts without pixels) and the images as PIL, in order."""
    out, images = [], []
    for m in messages:
        parts = []
        for p in m["content"]:
            if p["type"] == "image":
                images.append(to_pil(p["image"]))
                parts.append({"type": "image"})
            else:
                parts.append({"type": "text", "text": p["text"]})
        out.append({"role": m["role"], "content": parts})
    return out, images


def to_pil(image: np.ndarray | Image.Image) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    return Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8), mode="RGB")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray | Image.Image, level: int = 1) -> bytes:
    """A lossless 8-bit RGB PNG of ``image``.

    Written directly (filter type 0 on every row, zlib ``level``): PIL's encoder spends most of its time
    choosing row filters and is 5-10x slower on env frames; any PNG decoder reads the result.
    """
    arr = np.asarray(image.convert("RGB")) if isinstance(image, Image.Image) else np.asarray(image, dtype=np.uint8)
    h, w, _ = arr.shape
    raw = np.zeros((h, w * 3 + 1), dtype=np.uint8)  # a leading 0 byte per row: filter type "none"
    raw[:, 1:] = arr.reshape(h, w * 3)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit, truecolour, deflate, no filter, no interlace
    data = zlib.compress(raw.tobytes(), level)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


def png_data_url(image: np.ndarray | Image.Image) -> str:
    """A lossless ``data:image/png;base64,...`` URL."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


def to_openai_messages(messages: Sequence[dict[str, Any]],
                       encode: Callable[[Any], str] = png_data_url) -> list[dict[str, Any]]:
    """OpenAI chat form: image parts become ``{"type": "image_url", "image_url": {"url": data_url}}``."""
    out = []
    for m in messages:
        parts = []
        for p in m["content"]:
            if p["type"] == "image":
                cache = p.get("cache")
                url = cache.get("png_url") if cache is not None and encode is png_data_url else None
                if url is None:
                    url = encode(p["image"])
                    if cache is not None and encode is png_data_url:
                        cache["png_url"] = url
                parts.append({"type": "image_url", "image_url": {"url": url}})
            else:
                parts.append({"type": "text", "text": p["text"]})
        out.append({"role": m["role"], "content": parts})
    return out
