"""Instructions as fixed-length integer arrays, for policies that cannot read text.

The ids are exactly Gymnasium's own flattening of a :class:`gymnasium.spaces.Text` space
(``gymnasium.spaces.flatten``): character ``c`` becomes its index in the space's character list (a set
charset is sorted, so ids are stable across processes) and the text is padded to ``max_length`` with
``len(charset)``. Here it is batched over envs with one table lookup instead of a loop per character.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import VectorEnv

from vlenvs.core.config import check_int
from vlenvs.core.errors import InvalidConfigError
from vlenvs.core.spaces import INSTRUCTION_CHARSET
from vlenvs.wrappers._base import ObservationTransform, TransformSingle, TransformVector, checked_spaces
from vlenvs.wrappers.image_only import image_space, transform_images


class InstructionEncoder:
    """Encode texts over ``charset`` as ``int32[N, max_length]`` ids (Gymnasium's Text flattening), and back.

    Args:
        max_length: length of every encoded array; longer texts are an error, shorter ones are padded.
        charset: the characters texts may contain (default: every character a vlenvs instruction may use).
            A set is sorted to fix the ids; a string keeps its order.
    """

    def __init__(self, max_length: int, charset: Iterable[str] | str = INSTRUCTION_CHARSET) -> None:
        self.max_length = check_int("max_length", max_length, 1, 1_000_000)
        chars = list(charset) if isinstance(charset, (str, set, frozenset, list, tuple)) else [charset]
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad or not chars:
            raise InvalidConfigError(
                f"invalid charset {charset!r:.80}: {'it is empty' if not chars else f'bad elements {bad[:5]!r}'}; "
                "expected a non-empty str or set of single characters"
            )
        #: The Text space whose flattening these ids are (a set charset is sorted, a str keeps its order).
        self.text_space = spaces.Text(max_length=self.max_length, min_length=0,
                                      charset=charset if isinstance(charset, str) else frozenset(chars))
        self.characters = np.array(self.text_space.character_list, dtype="<U1")
        self.pad_id = len(self.characters)
        codes = np.array([ord(c) for c in self.characters], dtype=np.int64)
        self._lut = np.full(int(codes.max()) + 2, -1, dtype=np.int32)  # last slot: any code point above
        self._lut[codes] = np.arange(len(codes), dtype=np.int32)

    @property
    def space(self) -> spaces.Box:
        """``Box(0, len(charset), (max_length,), int32)``: ``gymnasium.spaces.flatten_space`` of the Text space."""
        return spaces.Box(0, self.pad_id, shape=(self.max_length,), dtype=np.int32)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``int32[len(texts), max_length]`` ids, padded with ``len(charset)``."""
        codes = [np.frombuffer(t.encode("utf-32-le"), dtype=np.uint32) for t in texts]
        lengths = np.array([len(c) for c in codes], dtype=np.int64)
        out = np.full((len(codes), self.max_length), self.pad_id, dtype=np.int32)
        if lengths.size and lengths.max() > self.max_length:
            i = int(lengths.argmax())
            raise InvalidConfigError(
                f"instruction {texts[i][:40]!r}... has {lengths[i]} characters; the encoder's max_length is "
                f"{self.max_length} (pass a larger max_length)"
            )
        if not lengths.sum():
            return out
        flat = np.concatenate(codes).astype(np.int64)
        ids = self._lut[np.minimum(flat, len(self._lut) - 1)]
        if (ids < 0).any():
            bad = chr(int(flat[np.flatnonzero(ids < 0)[0]]))
            raise InvalidConfigError(
                f"invalid instruction character {bad!r}; valid characters: {''.join(self.characters)!r}"
            )
        rows = np.repeat(np.arange(len(codes)), lengths)
        starts = np.cumsum(lengths) - lengths
        cols = np.arange(len(flat)) - np.repeat(starts, lengths)
        out[rows, cols] = ids
        return out

    def decode(self, ids: np.ndarray) -> list[str]:
        """The texts of ``int[N, max_length]`` ids (padding dropped), as ``gymnasium.spaces.unflatten`` reads them."""
        ids = np.asarray(ids)
        shape_ok = ids.ndim == 2 and ids.shape[1] == self.max_length and ids.dtype.kind in "iu"
        if not shape_ok or (ids.size and (ids.min() < 0 or ids.max() > self.pad_id)):
            raise InvalidConfigError(
                f"invalid ids of shape {ids.shape} and dtype {ids.dtype}; expected integers in 0..{self.pad_id} "
                f"of shape (N, {self.max_length})"
            )
        return ["".join(self.characters[row[row < self.pad_id]]) for row in ids]


class IdsTransform(ObservationTransform):
    """``Dict(image=Box, instruction=Box int32[max_length])``."""

    def __init__(self, obs_space: spaces.Dict, image: spaces.Box, max_length: int | None,
                 channels_first: bool, wrapper: str) -> None:
        text = obs_space.spaces.get("instruction")
        if not isinstance(text, spaces.Text):
            raise InvalidConfigError(f"{wrapper} needs a Text 'instruction' observation, got {text}")
        length = text.max_length if max_length is None else check_int("max_length", max_length, 1, 1_000_000)
        if length < text.max_length:
            raise InvalidConfigError(
                f"invalid max_length {length}; the env's instructions can have up to {text.max_length} "
                f"characters, so max_length must be >= {text.max_length} (or None)"
            )
        self.encoder = InstructionEncoder(length, text.character_set)
        self.channels_first = bool(channels_first)
        self.single_space = spaces.Dict(
            {"image": image_space(image, self.channels_first), "instruction": self.encoder.space}
        )

    def __call__(self, images: np.ndarray, instructions: Sequence[str]) -> dict[str, np.ndarray]:
        return {"image": transform_images(images, self.channels_first),
                "instruction": self.encoder.encode(instructions)}


class InstructionIds(TransformSingle, gym.utils.RecordConstructorArgs):
    """Keep the image and turn the instruction into ids: ``Dict(image=Box uint8, instruction=Box int32[L])``.

    ``L`` is the env's longest instruction unless ``max_length`` asks for more. Stable-Baselines3's
    ``MultiInputPolicy`` accepts this observation; add ``gymnasium.wrappers.FlattenObservation`` on top for
    a single flat ``Box`` (MLP policies). ``wrapper.transform.encoder.decode(ids)`` gives the text back.
    """

    def __init__(self, env: gym.Env, *, max_length: int | None = None, channels_first: bool = False) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, max_length=max_length, channels_first=channels_first)
        obs_space, image = checked_spaces(env, "InstructionIds", vector=False)
        super().__init__(env, IdsTransform(obs_space, image, max_length, channels_first, "InstructionIds"))


class VectorInstructionIds(TransformVector):
    """:class:`InstructionIds` for a vector env: one batched encoding per step, any autoreset mode."""

    def __init__(self, env: VectorEnv, *, max_length: int | None = None, channels_first: bool = False) -> None:
        obs_space, image = checked_spaces(env, "VectorInstructionIds", vector=True)
        super().__init__(env, IdsTransform(obs_space, image, max_length, channels_first, "VectorInstructionIds"))

