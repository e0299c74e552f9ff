"""Configuration of the Tinker-API service (``vlenvs-train tinker-serve``)."""

from __future__ import annotations

from dataclasses import dataclass

from vlenvs.core.config import check_float, check_int
from vlenvs.core.errors import InvalidConfigError


@dataclass(frozen=True)
class TinkerServiceConfig:
    """What the service serves, where it keeps its files and the bounds on what a client can make it hold."""

    model: str = "maze2d_tiny_cpu"
    """The base model: a model folder (``config.json`` + processor files), or a bundled recipe name whose model
    is served (the CPU recipes' tiny VLM is built offline into the vlenvs cache). Clients name it in
    ``create_lora_training_client(base_model=...)`` exactly as given here."""
    host: str = "127.0.0.1"
    """Interface to bind. Anyone who reaches the port can train and sample: keep it on localhost or a private network."""
    port: int = 8001
    """TCP port."""
    root: str = "runs/tinker"
    """Folder of the saved states (``save_state``: the trainer's checkpoint format) and sampler weights
    (``save_weights_for_sampler``: servable model folders); ``tinker://`` paths name folders under it."""
    device: str = "cpu"
    """Where models run: ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"``."""
    torch_threads: int = 0
    """Torch intra-op threads (0: torch's default)."""
    max_models: int = 4
    """Most training models held at once, over all sessions (each holds weights, gradients and Adam state)."""
    max_samplers: int = 2
    """Most sampler models held in memory (least recently used ones are dropped; saved ones reload from disk)."""
    max_tokens: int = 4096
    """Longest model input (tokens, images included) and most new tokens per sample."""
    batch_tokens: int = 16384
    """Padded tokens per forward micro-batch (bounds activation memory)."""
    max_datums: int = 1024
    """Most datums in one ``forward_backward`` request."""
    max_samples: int = 64
    """Most samples in one ``sample`` request."""
    max_batch_samples: int = 256
    """Most samples generated in one batch: consecutive ``sample`` requests on the same sampler with the same
    parameters are batched up to this many (each sample keeps its own seeded stream)."""
    poll_seconds: float = 25.0
    """How long ``retrieve_future`` holds a request for an unfinished result before answering 408 (the SDK
    re-polls at once; its own timeout is 45 s)."""
    max_results: int = 4096
    """Most finished results kept for retrieval (the oldest retrieved ones go first)."""
    seed: int = 0
    """Seed of the sampling seeds drawn for ``sample`` requests that carry none."""

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise InvalidConfigError(f"model is {self.model!r}; give a model folder or a bundled recipe name")
        from vlenvs_train.train.config.model import check_device

        check_device(self.device)
        check_int("port", self.port, 0, 65535)
        check_int("torch_threads", self.torch_threads, 0, 1024)
        for name in ("max_models", "max_samplers", "max_tokens", "batch_tokens", "max_datums", "max_samples",
                     "max_batch_samples", "max_results"):
            check_int(name, getattr(self, name), 1, 10**9)
        check_float("poll_seconds", self.poll_seconds, 0.0, 40.0)
        check_int("seed", self.seed, 0, 2**63 - 1)
        if self.max_batch_samples < self.max_samples:
            raise InvalidConfigError(f"max_batch_samples ({self.max_batch_samples}) must be >= max_samples "
                                     f"({self.max_samples}): a batch holds at least one whole request")
        if self.batch_tokens < self.max_tokens:
            raise InvalidConfigError(f"batch_tokens ({self.batch_tokens}) must be >= max_tokens ({self.max_tokens}): "
                                     "a micro-batch holds at least one whole model input")
