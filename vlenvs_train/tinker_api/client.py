"""Client-side helpers for loops written against the ``tinker`` SDK: vlenvs prompts as Tinker model inputs.

The batched adapter's prompts are encoded by the model's processor
(:class:`~vlenvs_train.policies.encode.PromptEncoder`); :func:`to_model_input` turns such an encoding into a
``tinker.ModelInput``: the token ids, with each run of image-pad tokens replaced by an image chunk holding the
PNG-encoded image (lossless, so the service's image processor sees the same pixels). :func:`turn_datum` makes a
training datum of one assistant turn (prompt + reply) for the SDK's built-in losses.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np
from PIL import Image


def _png(image: Image.Image | np.ndarray) -> bytes:
    image = Image.fromarray(np.asarray(image)) if not isinstance(image, Image.Image) else image
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


def to_model_input(ids: Sequence[int], images: Sequence[Image.Image | np.ndarray], image_pad_id: int) -> Any:
    """A ``tinker.ModelInput`` of token ``ids`` whose ``image_pad_id`` runs are ``images`` (one run per image, in
    order), as image chunks with ``expected_tokens`` = the run's length."""
    import tinker
    from tinker.types import ImageChunk

    ids = np.asarray(ids, dtype=np.int64)
    pads = ids == image_pad_id
    chunks: list[Any] = []
    k, start, n_images = 0, 0, 0
    while k < len(ids):
        if not pads[k]:
            k += 1
            continue
        end = k
        while end < len(ids) and pads[end]:
            end += 1
        if n_images >= len(images):
            raise ValueError(f"the ids hold more image-pad runs than the {len(images)} images given")
        if k > start:
            chunks.append(tinker.EncodedTextChunk(tokens=ids[start:k].tolist()))
        chunks.append(ImageChunk(data=_png(images[n_images]), format="png", expected_tokens=end - k))
        n_images += 1
        start = k = end
    if start < len(ids):
        chunks.append(tinker.EncodedTextChunk(tokens=ids[start:].tolist()))
    if n_images != len(images):
        raise ValueError(f"{len(images)} images given for {n_images} image-pad runs")
    return tinker.ModelInput(chunks=chunks)


def turn_datum(prompt_ids: Sequence[int], images: Sequence[Any], reply_ids: Sequence[int], image_pad_id: int,
               *, weights: float | None = 1.0, logprobs: Sequence[float] | None = None,
               advantage: float | None = None) -> Any:
    """A ``tinker.Datum`` of one assistant turn: the model input is prompt + reply but its last token, each
    position's target the next token; the reply's positions carry ``weights`` (``cross_entropy``), or the
    sampler's ``logprobs`` and ``advantage`` (``importance_sampling`` / ``ppo``); the prompt's positions 0."""
    import tinker

    prompt_ids, reply_ids = np.asarray(prompt_ids, dtype=np.int64), np.asarray(reply_ids, dtype=np.int64)
    full = np.concatenate([prompt_ids, reply_ids])
    n, r = len(full) - 1, len(reply_ids)
    inputs: dict[str, Any] = {"target_tokens": full[1:]}
    if advantage is None:
        w = np.zeros(n, dtype=np.float32)
        w[n - r:] = weights
        inputs["weights"] = w
    else:
        lp, adv = np.zeros(n, dtype=np.float32), np.zeros(n, dtype=np.float32)
        lp[n - r:] = np.asarray(logprobs, dtype=np.float32)
        adv[n - r:] = advantage
        inputs.update(logprobs=lp, advantages=adv)
    return tinker.Datum(model_input=to_model_input(full[:-1], images, image_pad_id), loss_fn_inputs=inputs)


def launch_service(model: str, root: str, timeout: float = 300.0) -> tuple[subprocess.Popen, str]:
    """Start ``vlenvs-train tinker-serve --model MODEL --root ROOT`` on a free loopback port in a subprocess (one
    OpenMP thread) and wait until it answers; returns the process and its base URL. The caller terminates it.
    Its output goes to an unnamed temporary file (a pipe nobody reads would block it once full)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "vlenvs_train.cli", "tinker-serve", "--model", model, "--port",
                             str(port), "--root", root], env={**os.environ, "OMP_NUM_THREADS": "1"},
                            stdout=subprocess.DEVNULL, stderr=(log := tempfile.TemporaryFile()))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"tinker-serve exited with {proc.returncode}: {log.read()[-2000:].decode(errors='replace')}")
        try:
            urllib.request.urlopen(url + "/api/v1/healthz", timeout=2)
            return proc, url
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"tinker-serve did not answer within {timeout:.0f} s")
