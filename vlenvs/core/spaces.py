"""Observation spaces shared by every vlenvs env: ``Dict(image=Box, instruction=Text)``."""

from __future__ import annotations

import string

import numpy as np
from gymnasium import spaces

#: Characters an instruction may contain: printable ASCII plus the math symbols the geometry env emits.
INSTRUCTION_CHARSET: frozenset[str] = frozenset(
    string.ascii_letters + string.digits + string.punctuation + " \n\t" + "°∠△□○⊙≅∼∥⊥πθαβγ√≈≤≥×÷·′″"
)


def instruction_space(max_length: int) -> spaces.Text:
    """A Text space that accepts any instruction up to ``max_length`` characters of our charset."""
    return spaces.Text(max_length=max_length, min_length=1, charset=INSTRUCTION_CHARSET)


def image_space(height: int, width: int) -> spaces.Box:
    """``uint8[height, width, 3]`` RGB image."""
    return spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8)


def observation_space(height: int, width: int, max_instruction_length: int) -> spaces.Dict:
    """The standard vlenvs observation: an RGB image and a natural-language instruction."""
    return spaces.Dict(
        {"image": image_space(height, width), "instruction": instruction_space(max_instruction_length)}
    )
