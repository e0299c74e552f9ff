"""Nested state (optimizer state dicts, RNG states, trainer bookkeeping) as JSON plus named tensors, no pickle.

:func:`encode` walks a structure of dicts, lists, tuples, numbers, strings, ``None``, torch tensors and numpy
arrays: every tensor/array goes to a flat ``{name: tensor}`` mapping (written as safetensors) and is replaced
by ``{"__tensor__": name}`` (``"__array__"`` for numpy); dicts with non-string keys (an optimizer's
``{param_index: state}``) become ``{"__items__": [[key, value], ...]}`` and tuples ``{"__tuple__": [...]}``.
:func:`decode` inverts it exactly. Floats survive JSON exactly (``repr`` round-trips), big ints too.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

_MARKERS = ("__tensor__", "__array__", "__items__", "__tuple__")


def encode(obj: Any, tensors: dict[str, torch.Tensor], prefix: str) -> Any:
    """A JSON-able form of ``obj``; its tensors/arrays are added to ``tensors`` under ``prefix/...`` names."""
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        name = prefix
        while name in tensors:  # e.g. keys 0 and "0" of one dict
            name += "'"
        if isinstance(obj, np.ndarray):
            tensors[name] = torch.from_numpy(np.ascontiguousarray(obj))
            return {"__array__": name}
        tensors[name] = obj.detach().cpu().contiguous()
        return {"__tensor__": name}
    if isinstance(obj, (np.integer, np.floating, np.bool_)):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if isinstance(obj, tuple):
        return {"__tuple__": [encode(v, tensors, f"{prefix}/{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [encode(v, tensors, f"{prefix}/{i}") for i, v in enumerate(obj)]
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) and k not in _MARKERS for k in obj):
            return {k: encode(v, tensors, f"{prefix}/{k}") for k, v in obj.items()}
        return {"__items__": [[k, encode(v, tensors, f"{prefix}/{k}")] for k, v in obj.items()]}
    raise TypeError(f"cannot store a {type(obj).__name__} in a checkpoint (at {prefix!r})")


def decode(obj: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """The structure :func:`encode` was given, its tensors taken from ``tensors`` (KeyError names a missing one)."""
    if isinstance(obj, list):
        return [decode(v, tensors) for v in obj]
    if isinstance(obj, dict):
        if len(obj) == 1:
            (key, value), = obj.items()
            if key == "__tensor__":
                return tensors[value]
            if key == "__array__":
                return tensors[value].numpy()
            if key == "__tuple__":
                return tuple(decode(v, tensors) for v in value)
            if key == "__items__":
                return {_key(k): decode(v, tensors) for k, v in value}
        return {k: decode(v, tensors) for k, v in obj.items()}
    return obj


def _key(k: Any) -> Any:
    return tuple(k) if isinstance(k, list) else k


def _b64(t: torch.Tensor) -> str:
    return base64.b64encode(t.numpy().tobytes()).decode("ascii")


def _unb64(s: str) -> torch.Tensor:
    return torch.frombuffer(bytearray(base64.b64decode(s.encode("ascii"), validate=True)), dtype=torch.uint8).clone()


def rng_state() -> dict[str, Any]:
    """The python, numpy (legacy global) and torch (CPU, CUDA) RNG states as JSON-able data."""
    version, internal, gauss = random.getstate()
    np_state = np.random.get_state(legacy=False)
    return {
        "python": [version, list(internal), gauss],
        "numpy": {**np_state, "state": {"key": np_state["state"]["key"].tolist(), "pos": int(np_state["state"]["pos"])}},
        "torch": _b64(torch.get_rng_state()),
        "cuda": [_b64(s) for s in torch.cuda.get_rng_state_all()] if torch.cuda.is_available() else None,
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore :func:`rng_state`'s states."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = dict(state["numpy"])
    np_state["state"] = {"key": np.asarray(np_state["state"]["key"], dtype=np.uint32), "pos": np_state["state"]["pos"]}
    np.random.set_state(np_state)
    torch.set_rng_state(_unb64(state["torch"]))
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([_unb64(s) for s in state["cuda"]])
