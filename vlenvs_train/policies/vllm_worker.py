"""Runs inside vLLM's workers (engine or server): reload the trainer's weights in place.

vLLM's own reload path does the work: ``Worker.reload_weights(weights_path=DIR)`` reads the safetensors files of
``DIR`` (Hugging Face parameter names) into the running model and drops the encoder and multimodal caches. Two
things are added here, as a vLLM worker extension (``--worker-extension-cls
vlenvs_train.policies.vllm_worker.WeightSyncExtension``), reachable over HTTP through the server's
``POST /collective_rpc`` (``VLLM_SERVER_DEV_MODE=1``; string arguments only):

- on CPU, vLLM pre-packs each linear layer's weight for its GEMM kernel after loading; a tied LM head (Qwen's
  small models, the tiny model) is not in the checkpoint, so the reload skips it and it would keep computing
  logits with the old embedding: :func:`refresh_cpu_prepacked_weights` re-packs it.

(To compare the weights servers hold, vLLM's own ``POST /weight_checker`` returns checksums per worker.)

Nothing here is imported by ``import vlenvs_train``; vLLM imports it in its worker processes.
"""

from __future__ import annotations

from typing import Any


def refresh_cpu_prepacked_weights(model: Any) -> int:
    """Re-pack the CPU GEMM weights of every linear layer that has one (vocab embeddings / LM head included);
    returns how many were re-packed. A no-op on GPU (no ``cpu_linear`` attribute)."""
    count = 0
    for module in model.modules():
        weight = getattr(module, "weight", None)
        method = getattr(module, "quant_method", None)
        if hasattr(module, "cpu_linear") and method is not None and weight is not None and weight.numel() > 0:
            method.process_weights_after_loading(module)
            count += 1
    return count


class WeightSyncExtension:
    """Mixed into vLLM's worker class (``worker_extension_cls``): methods callable by ``collective_rpc``."""

    def vlenvs_reload_weights(self, weights_path: str) -> dict[str, Any]:
        """Load the safetensors files of ``weights_path`` into the running model (vLLM's ``Worker.reload_weights``:
        also drops the worker's encoder and multimodal caches), re-pack CPU weights; returns ``{"repacked": n}``."""
        self.reload_weights(weights_path=str(weights_path), is_checkpoint_format=True)  # type: ignore[attr-defined]
        return {"repacked": refresh_cpu_prepacked_weights(self.model_runner.get_model())}  # type: ignore[attr-defined]
