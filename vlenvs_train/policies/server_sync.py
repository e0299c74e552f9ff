"""Weight sync from the trainer to running vLLM OpenAI-compatible servers, through a shared folder.

The trainer writes its weights once per update as ``SYNC_DIR/v<version>/model.safetensors`` (Hugging Face
parameter names, written to a temporary folder and renamed, so a server never reads a half-written file), then
asks every server to load them with vLLM's own machinery, over the server's development endpoints
(``VLLM_SERVER_DEV_MODE=1``; ``vlenvs-train serve`` starts servers that way):

1. ``POST /collective_rpc`` ``vlenvs_reload_weights`` (:mod:`~vlenvs_train.policies.vllm_worker`: vLLM's
   ``reload_weights(weights_path=...)`` plus the CPU re-pack of a tied LM head);
2. ``POST /reset_encoder_cache``, ``/reset_mm_cache``, ``/reset_prefix_cache``: everything cached was computed
   with the old weights;
3. ``POST /update_weight_version`` then ``GET /weight_info``: vLLM's own weight-version label, read back, so a
   server that restarted (label ``"default"``) or missed an update is recognised before it samples. The label
   is ``<client id>-<version>``: another run's (or an earlier evaluation's) version 1 is not mistaken for ours.

The folder must be the same path for the trainer and the servers (servers on the same machine, or a shared
file system). Only the newest two versions are kept.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vlenvs_train.policies.base import PolicyError

WEIGHTS_FILE = "model.safetensors"


def server_root(base_url: str) -> str:
    """The server's root URL (its development endpoints) from an OpenAI API root such as ``http://h:8000/v1``."""
    url = base_url.rstrip("/")
    return url[:-3] if url.endswith("/v1") else url


def write_weights(named_params: Iterable[tuple[str, Any]], sync_dir: str | Path, version: int, keep: int = 2) -> Path:
    """Write the weights as ``sync_dir/v<version>/model.safetensors`` (atomically: a temporary folder renamed);
    delete every other version folder but the ``keep - 1`` before it. Returns the version's folder."""
    from safetensors.torch import save_file

    tensors = {name: t.detach().to("cpu").contiguous() for name, t in named_params}
    if not tensors:
        raise PolicyError("no weights to sync (the model has no parameters?)")
    root = Path(sync_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"v{version:08d}"
    tmp = root / f".tmp-v{version:08d}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    save_file(tensors, str(tmp / WEIGHTS_FILE))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    kept = {f"v{v:08d}" for v in range(version - keep + 1, version + 1)}
    for old in root.iterdir():  # by number, not by age: a run restarted into this folder counts from 1 again
        if old.is_dir() and re.fullmatch(r"v\d{8}", old.name) and old.name not in kept:
            shutil.rmtree(old, ignore_errors=True)
    return final


class ServerWeightSync:
    """Loads weight folders into servers and reads back what they serve (synchronous HTTP).

    Args:
        timeout_s: per HTTP call (a reload of a large model may take a while: give it room).
        api_key: sent as a bearer token if the servers require one.
    """

    def __init__(self, timeout_s: float = 600.0, api_key: str | None = None) -> None:
        self.timeout_s = timeout_s
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def _post(self, client: Any, url: str, body: dict[str, Any]) -> Any:
        resp = client.post(url, json=body)
        if resp.status_code == 404:
            raise PolicyError(f"{url} is not served (HTTP 404): start the server with VLLM_SERVER_DEV_MODE=1 and "
                              "--worker-extension-cls vlenvs_train.policies.vllm_worker.WeightSyncExtension "
                              "(`vlenvs-train serve MODEL_DIR` does both) to train through it")
        if resp.status_code != 200:
            raise PolicyError(f"{url} answered HTTP {resp.status_code}: {resp.text[:500]}")
        return resp.json() if resp.content else None

    def served_version(self, base_url: str) -> str:
        """vLLM's weight-version label of the server (``"default"`` for a server that has taken no update)."""
        import httpx

        with httpx.Client(headers=self.headers, timeout=min(self.timeout_s, 10.0)) as client:  # a label: quick
            resp = client.get(f"{server_root(base_url)}/weight_info")
            if resp.status_code != 200:
                raise PolicyError(f"{base_url}: GET /weight_info answered HTTP {resp.status_code} (is "
                                  "VLLM_SERVER_DEV_MODE=1 set for the server?)")
            return str(resp.json()["weight_version"])

    def push(self, base_url: str, folder: str | Path, label: str) -> dict[str, Any]:
        """Load ``folder`` into the server at ``base_url``, label it ``label`` and check the label it now reports.
        Returns ``{"seconds"}``."""
        import httpx

        root, t0 = server_root(base_url), time.perf_counter()
        with httpx.Client(headers=self.headers, timeout=self.timeout_s) as client:
            reply = self._post(client, f"{root}/collective_rpc", {"method": "vlenvs_reload_weights",
                                                                   "kwargs": {"weights_path": str(Path(folder))}})
            results = (reply or {}).get("results") or []
            if not results or not all(isinstance(r, dict) and "repacked" in r for r in results):
                raise PolicyError(f"{base_url}: unexpected reload reply {reply!r} (one result per worker expected)")
            # outputs computed with the old weights, cached on both sides (scheduler and worker): vision-encoder
            # outputs (a worker-side reset alone makes the scheduler expect entries that are gone) and prefixes
            self._post(client, f"{root}/reset_encoder_cache", {})
            self._post(client, f"{root}/reset_mm_cache", {})
            for _ in range(50):  # fails while blocks are held (no request should be running during a sync)
                if (self._post(client, f"{root}/reset_prefix_cache", {}) or {}).get("success"):
                    break
                time.sleep(0.1)
            else:
                raise PolicyError(f"{base_url}: the prefix cache could not be reset (requests still running?)")
            self._post(client, f"{root}/update_weight_version", {"new_version": label})
        served = self.served_version(base_url)
        if served != label:
            raise PolicyError(f"{base_url} reports weight version {served!r} after loading {label!r}")
        return {"seconds": time.perf_counter() - t0}
