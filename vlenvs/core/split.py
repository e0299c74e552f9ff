"""Train/test splits of an env's vocabulary, for measuring compositional and phrasing generalisation.

An env with a ``split`` option partitions what its instructions can name or say into two disjoint sets:

- **colour x shape pairs**: :func:`held_out_pairs` holds out ``max(colours, shapes)`` pairs chosen so that
  every colour and every shape occurs in the test pairs *and* in the train pairs. Test pairs are novel
  combinations of words the train split has seen.
- **word lists** (instruction templates, wall colours, ...): :func:`held_out_items` holds out a quarter of
  each list (at least one item, never all), so test phrasings are unseen ones.

Both are fixed functions of the vocabulary's *names*: items are ordered by the SHA-256 of ``SALT + "/" +
name`` (:func:`hash_order`), so a split is the same on every machine, every run and every NumPy version, and
does not depend on the episode seed. ``"all"`` (the default) uses everything, exactly as before splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

import numpy as np

from vlenvs.core.config import check_choice

Split = Literal["all", "train", "test"]
SPLITS = ("all", "train", "test")
#: Part of every hash key; changing it would change every env's split.
SALT = "vlenvs-split-v1"
#: Share of a word list held out for the test split (rounded half up, at least one item).
TEST_FRACTION = 0.25


def check_split(value: object) -> None:
    """Raise :class:`~vlenvs.core.errors.InvalidConfigError` unless ``value`` is one of :data:`SPLITS`."""
    check_choice("split", value, SPLITS)


def hash_order(names: Sequence[str]) -> tuple[int, ...]:
    """Indices of ``names`` sorted by the SHA-256 of ``SALT/name`` (a fixed shuffle; names must be distinct)."""
    assert len(set(names)) == len(names), "split vocabularies need distinct names"
    key = [hashlib.sha256(f"{SALT}/{n}".encode()).hexdigest() for n in names]
    return tuple(sorted(range(len(names)), key=key.__getitem__))


def held_out_items(names: Sequence[str]) -> np.ndarray:
    """``bool[len(names)]``: the test items of a word list, the first ``round(TEST_FRACTION * n)`` (at least
    one) in :func:`hash_order`. Needs two names or more, so both splits are non-empty."""
    n = len(names)
    assert n >= 2, "a word list needs two items or more to be split"
    k = max(1, int(TEST_FRACTION * n + 0.5))
    mask = np.zeros(n, dtype=bool)
    mask[list(hash_order(names)[:k])] = True
    return mask


def held_out_pairs(colors: Sequence[str], shapes: Sequence[str]) -> np.ndarray:
    """``bool[colours, shapes]``: the test pairs, ``(colour_order[j % C], shape_order[j % S])`` for
    ``j < max(C, S)`` with both orders from :func:`hash_order`.

    Every colour and every shape is in at least one test pair and (with two or more of each) in at least one
    train pair: with ``C >= S`` each colour has exactly one test shape and each shape ``C // S`` or
    ``C // S + 1`` test colours. That is ``1 / S`` of the pairs (``1 / C`` when shapes outnumber colours).
    """
    c, s = len(colors), len(shapes)
    assert c >= 2 and s >= 2, "pair splits need two colours and two shapes or more"
    co, so = hash_order(colors), hash_order(shapes)
    mask = np.zeros((c, s), dtype=bool)
    for j in range(max(c, s)):
        mask[co[j % c], so[j % s]] = True
    return mask


def allowed(held_out: np.ndarray, split: str) -> np.ndarray:
    """What ``split`` may use, given the held-out mask: everything, the complement, or the mask itself."""
    check_split(split)
    if split == "all":
        return np.ones_like(held_out)
    return held_out.copy() if split == "test" else ~held_out


def allowed_ids(names: Sequence[str], split: str) -> np.ndarray:
    """Indices (ascending, ``int64``) of the items of a word list that ``split`` may use; ``"all"`` gives
    ``arange(len(names))``, so ``allowed_ids(...)[pick(u, len(ids))]`` draws exactly as ``pick(u, n)`` did."""
    ids = np.flatnonzero(allowed(held_out_items(names), split)).astype(np.int64)
    ids.setflags(write=False)
    return ids


def pick(u: np.ndarray, k: int | np.ndarray) -> np.ndarray:
    """Uniforms ``u`` in ``[0, 1)`` to indices ``0 .. k - 1`` (``k`` may be an array, one count per entry)."""
    return np.minimum((u * k).astype(np.int64), k - 1)


def pair_names(mask: np.ndarray, colors: Sequence[str], shapes: Sequence[str]) -> tuple[str, ...]:
    """``"colour shape"`` of every pair set in ``mask[colours, shapes]``, colour-major."""
    return tuple(f"{colors[c]} {shapes[s]}" for c, s in zip(*np.nonzero(mask)))
