"""Observation spaces shared by every vlenvs env: ``Dict(image=Box, instruction=Text)``."""

from __future__ import annotations

import string
from collections.abc import Iterator, Sequence
from typing import Any, overload

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import read_from_shared_memory

#: Characters an instruction may contain: printable ASCII plus the math symbols the geometry env emits.
INSTRUCTION_CHARSET: frozenset[str] = frozenset(
    string.ascii_letters + string.digits + string.punctuation + " \n\t" + "°∠△□○⊙≅∼∥⊥πθαβγ√≈≤≥×÷·′″"
)


class InstructionText(spaces.Text):
    """Gymnasium's :class:`~gymnasium.spaces.Text`, whose batch survives ``AsyncVectorEnv``'s shared memory.

    ``AsyncVectorEnv(shared_memory=True)`` (Gymnasium's default, and what TorchRL's ``GymEnv(id, num_envs=N)``
    builds) reads its observation buffer once, at construction: a live array for a ``Box``, but for a ``Text`` a
    tuple decoded from the still-empty buffer, which every later reset and step returns again. For this space
    the buffer is read as :class:`SharedTexts` instead, which decodes on access; the vector env's default copy
    (``copy=True``) of it is a tuple of one ``str`` per env, as with every other Gymnasium vector env.
    """


class SharedTexts(Sequence[str]):
    """The texts of a shared-memory batch, decoded when read; ``copy``/``deepcopy`` give a tuple of str."""

    def __init__(self, space: spaces.Text, buffer: Any, n: int) -> None:
        self._space, self._buffer, self._n = space, buffer, n

    def _texts(self) -> tuple[str, ...]:
        return read_from_shared_memory.dispatch(spaces.Text)(self._space, self._buffer, n=self._n)

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self._texts()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts())

    def __eq__(self, other: object) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, SharedTexts) else other)

    __hash__ = None  # type: ignore[assignment]  # mutable contents

    def __copy__(self) -> tuple[str, ...]:
        return self._texts()

    def __deepcopy__(self, memo: dict) -> tuple[str, ...]:
        return self._texts()

    def __repr__(self) -> str:
        return f"SharedTexts({self._texts()!r})"


@read_from_shared_memory.register(InstructionText)
def _read_instructions_from_shared_memory(space: InstructionText, shared_memory: Any, n: int = 1) -> SharedTexts:
    return SharedTexts(space, shared_memory, n)


def instruction_space(max_length: int) -> InstructionText:
    """A Text space that accepts any instruction up to ``max_length`` characters of our charset."""
    return InstructionText(max_length=max_length, min_length=1, charset=INSTRUCTION_CHARSET)


def image_space(height: int, width: int) -> spaces.Box:
    """``uint8[height, width, 3]`` RGB image."""
    return spaces.Box(0, 255, shape=(height, width, 3), dtype=np.uint8)


def observation_space(height: int, width: int, max_instruction_length: int) -> spaces.Dict:
    """The standard vlenvs observation: an RGB image and a natural-language instruction."""
    return spaces.Dict(
        {"image": image_space(height, width), "instruction": instruction_space(max_instruction_length)}
    )
