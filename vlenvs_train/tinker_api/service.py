"""The Tinker-API service's state: sessions, training models, sampling sessions, futures, ``tinker://`` paths.

HTTP-free (:mod:`.app` maps routes onto it), so it is tested directly too. Every model-touching request becomes
a job on ONE worker thread, run in the order requests arrived: a training client's ``forward_backward`` ->
``optim_step`` -> ``save_weights_for_sampler`` sequence runs in its order, and results do not depend on load.
A job's result waits in the futures table for ``retrieve_future``; a job that fails with a
:class:`~vlenvs.core.errors.RequestError` reports the message to the client (category ``user``).
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vlenvs.core.errors import InvalidConfigError, RequestError
from vlenvs_train.tinker_api.config import TinkerServiceConfig
from vlenvs_train.tinker_api.models import SamplerModel, SampleSpec, TrainingModel, load_runtime
from vlenvs_train.tinker_api.wire import ForwardBackwardRequest, encode_sample

NAME_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")
PATH_RE = re.compile(r"tinker://(?P<model>[A-Za-z0-9._:-]{1,200})/(?P<kind>weights|sampler_weights)/(?P<name>[^/]+)")


@dataclass(frozen=True)
class SampleWork:
    """A ``sample`` request: consecutive ones on the same sampler with the same parameters run as one batch."""

    key: str
    chunks: list
    num_samples: int
    spec: SampleSpec
    seed: int
    prompt_logprobs: bool

    def joins(self, other: SampleWork) -> bool:
        return not self.prompt_logprobs and not other.prompt_logprobs and self.key == other.key \
            and self.spec == other.spec


@dataclass
class Job:
    """A queued or finished request: what kind of result it makes (``json`` or ``proto``), its work (a
    function, or a sample request) and its future."""

    kind: str
    future: Future
    fn: Callable[[], Any] | None = None
    sample: SampleWork | None = None
    retrieved: bool = False


@dataclass
class Session:
    session_id: str
    models: dict[int, str] = field(default_factory=dict)
    samplers: dict[int, str] = field(default_factory=dict)


class TinkerService:
    """Sessions, models and futures of one served base model."""

    def __init__(self, config: TinkerServiceConfig) -> None:
        import torch

        self.config = config
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        self.base_path = resolve_model(config.model)
        self.root = Path(config.root)
        self.sessions: dict[str, Session] = {}
        self.models: dict[str, TrainingModel] = {}
        self.lora_of: dict[str, dict[str, Any] | None] = {}  # every created model's id -> LoRA config (None: all weights)
        self.sampling_sessions: dict[str, str] = {}  # sampling session id -> model path ("base" or tinker://...)
        self.samplers: OrderedDict[str, SamplerModel] = OrderedDict()
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.lock = threading.Lock()
        self.queue: deque[Job] = deque()
        self.wake = threading.Condition(self.lock)
        self.closed = False
        self.rng = np.random.default_rng(config.seed)
        base, processor = load_runtime(self.base_path, config.device)
        self.base = SamplerModel(base, processor, config.max_tokens, config.batch_tokens)
        self.arch = str(getattr(base.config, "model_type", "unknown"))
        self.worker = threading.Thread(target=self._work, name="tinker-jobs", daemon=True)
        self.worker.start()

    # ------------------------------------------------------------------ sessions
    def create_session(self) -> str:
        sid = f"session-{uuid.uuid4().hex[:12]}"
        with self.lock:
            self.sessions[sid] = Session(sid)
        return sid

    def session(self, sid: Any) -> Session:
        s = self.sessions.get(sid) if isinstance(sid, str) else None
        if s is None:
            raise RequestError(f"unknown session_id {sid!r} (create a session first; sessions do not survive a restart)")
        return s

    def finish_session(self, sid: str) -> None:
        """Drop a session's models and sampling sessions (its saved files stay)."""
        with self.lock:
            s = self.sessions.pop(sid, None)
            if s is not None:
                for mid in s.models.values():
                    self.models.pop(mid, None)
                    self.lora_of.pop(mid, None)
                for sampler in s.samplers.values():
                    self.sampling_sessions.pop(sampler, None)

    # ------------------------------------------------------------------ jobs and futures
    def submit(self, kind: str, fn: Callable[[], Any] | None = None, sample: SampleWork | None = None) -> str:
        """Queue ``fn`` (or a sample request) for the worker; its result becomes the future ``request_id``."""
        rid = f"req-{uuid.uuid4().hex}"
        with self.lock:
            if self.closed:
                raise RequestError("the service is shutting down")
            job = Job(kind, Future(), fn, sample)
            self.jobs[rid] = job
            self.queue.append(job)
            self._evict()
            self.wake.notify()
        return rid

    def _next(self) -> list[Job] | None:
        """The next job, or a run of consecutive sample jobs that can share one batch."""
        with self.lock:
            while not self.queue and not self.closed:
                self.wake.wait()
            if self.closed:
                return None
            batch = [self.queue.popleft()]
            work = batch[0].sample
            rows = work.num_samples if work is not None else 0
            while work is not None and self.queue and self.queue[0].sample is not None \
                    and work.joins(self.queue[0].sample) \
                    and rows + self.queue[0].sample.num_samples <= self.config.max_batch_samples:
                rows += self.queue[0].sample.num_samples
                batch.append(self.queue.popleft())
            return batch

    def _work(self) -> None:
        while (batch := self._next()) is not None:
            if batch[0].fn is not None:
                _settle(batch[0].future, batch[0].fn)
            else:
                self._sample_batch(batch)

    def _sample_batch(self, batch: list[Job]) -> None:
        first = batch[0].sample
        try:
            sampler = self.sampler(first.key)
        except Exception as e:  # noqa: BLE001 - every request of the batch reports it
            for job in batch:
                job.future.set_exception(e)
            return
        ready: list[tuple[Job, Any]] = []
        for job in batch:
            try:
                ready.append((job, sampler.builder.build(job.sample.chunks, "prompt")))
            except Exception as e:  # noqa: BLE001 - this request's own error
                job.future.set_exception(e)
        if not ready:
            return
        if first.prompt_logprobs:  # alone in its batch
            job, tokens = ready[0]
            _settle(job.future, lambda: encode_sample(
                sampler.sample_many([(tokens, first.num_samples, first.seed)], first.spec)[0],
                sampler.prompt_logprobs(tokens)))
            return
        try:
            results = sampler.sample_many([(t, j.sample.num_samples, j.sample.seed) for j, t in ready], first.spec)
        except Exception as e:  # noqa: BLE001
            for job, _ in ready:
                job.future.set_exception(e)
            return
        for (job, _), sequences in zip(ready, results):
            job.future.set_result(encode_sample(sequences))

    def _evict(self) -> None:
        excess = len(self.jobs) - self.config.max_results
        if excess <= 0:
            return
        done = [rid for rid, job in self.jobs.items() if job.future.done()]
        done.sort(key=lambda rid: not self.jobs[rid].retrieved)  # retrieved results go first
        for rid in done[:excess]:
            del self.jobs[rid]

    def job(self, rid: Any) -> Job:
        job = self.jobs.get(rid) if isinstance(rid, str) else None
        if job is None:
            raise RequestError(f"unknown request_id {rid!r} (results are kept for the last "
                               f"{self.config.max_results} requests; none survive a restart)")
        return job

    # ------------------------------------------------------------------ training models
    def check_base_model(self, name: Any) -> None:
        if name != self.config.model:
            raise RequestError(f"base_model {name!r} is not served here; this service serves {self.config.model!r}")

    def create_model(self, sid: str, seq: int, base_model: str, lora: Mapping[str, Any] | None) -> str:
        """Register a training model (all weights, or LoRA adapters of ``lora["rank"]`` > 0) and return its id;
        the weights load in a job (:meth:`load_model`)."""
        session = self.session(sid)
        self.check_base_model(base_model)
        rank = (lora or {}).get("rank", 0)
        if not isinstance(rank, int) or isinstance(rank, bool) or not 0 <= rank <= 4096:
            raise RequestError(f"lora_config.rank {rank!r} must be an integer in [0, 4096] (0: full fine-tuning)")
        if rank:
            import importlib.util

            if importlib.util.find_spec("peft") is None:
                raise RequestError(f"LoRA (rank {rank}) needs peft, which is not installed here (pip install "
                                   "'vlenvs[tinker]'); rank=0 trains all weights")
        mid = f"{sid}:train:{seq}"
        with self.lock:
            if mid in self.models or seq in session.models:
                raise RequestError(f"model_seq_id {seq} is already used in session {sid!r}")
            if len(self.lora_of) >= self.config.max_models:  # created ones count before their weights load
                raise RequestError(f"this service holds at most {self.config.max_models} training models "
                                   "(TinkerServiceConfig.max_models); close a session first")
            session.models[seq] = mid
            self.lora_of[mid] = dict(lora) if rank else None
        return mid

    def load_model(self, mid: str) -> dict[str, str]:
        """Load the base weights for ``mid`` (with the LoRA adapters it was created with)."""
        model, processor = load_runtime(self.base_path, self.config.device)
        self.models[mid] = TrainingModel(model, processor, self.config.max_tokens, self.config.batch_tokens,
                                         self.lora_of[mid])
        return {"model_id": mid}

    def model(self, mid: Any) -> TrainingModel:
        m = self.models.get(mid) if isinstance(mid, str) else None
        if m is None:
            raise RequestError(f"unknown model_id {mid!r} (create it with create_model; models do not survive a "
                               "restart, saved states do: load them with load_weights)")
        return m

    def info(self, mid: str) -> dict[str, Any]:
        if not isinstance(mid, str) or mid not in self.lora_of:
            raise RequestError(f"unknown model_id {mid!r}")
        lora = self.lora_of.get(mid)
        return {"model_id": mid, "is_lora": lora is not None, "lora_rank": lora["rank"] if lora else 0,
                "model_data": {"model_name": self.config.model, "tokenizer_id": str(self.base_path.resolve()),
                               "arch": self.arch}}

    def forward_backward(self, request: ForwardBackwardRequest) -> bytes:
        if len(request.data) > self.config.max_datums:
            raise RequestError(f"forward_backward: {len(request.data)} datums; this service takes at most "
                               f"{self.config.max_datums} per request")
        return self.model(request.model_id).forward_backward(request)

    # ------------------------------------------------------------------ paths and files
    def folder(self, path: Any, kind: str | None = None) -> tuple[Path, str]:
        """The folder a ``tinker://MODEL/KIND/NAME`` path names (under ``root``) and its kind."""
        m = PATH_RE.fullmatch(path) if isinstance(path, str) else None
        if m is None or not NAME_RE.fullmatch(m["name"]) or {m["name"], m["model"]} & {".", ".."}:
            raise RequestError(f"invalid path {path!r}; expected tinker://MODEL_ID/weights/NAME or "
                               "tinker://MODEL_ID/sampler_weights/NAME (NAME: letters, digits, '.', '_', '-')")
        if kind is not None and m["kind"] != kind:
            raise RequestError(f"path {path!r} is a {m['kind']} path; this request needs a {kind} path")
        return self.root / m["model"].replace(":", "_") / m["kind"] / m["name"], m["kind"]

    def new_path(self, mid: str, kind: str, name: Any) -> str:
        if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name in (".", ".."):
            raise RequestError(f"invalid name {name!r}; use 1-128 letters, digits, '.', '_' or '-'")
        return f"tinker://{mid}/{kind}/{name}"

    def save_state(self, mid: str, path: str, overwrite: bool) -> dict[str, str]:
        from vlenvs_train.train.checkpoint import write_folder

        folder, _ = self.folder(path, "weights")
        if folder.exists() and not overwrite:
            raise RequestError(f"{path} exists; pass overwrite=True or another name")
        write_folder(folder, self.model(mid).state(), {"tag": "tinker", "model_id": mid})
        return {"path": path}

    def load_state(self, mid: str, path: str, optimizer: bool) -> dict[str, str]:
        from vlenvs_train.train.checkpoint import CheckpointError, read_folder

        folder, _ = self.folder(path, "weights")
        if not folder.is_dir():
            raise RequestError(f"no saved state at {path}")
        try:
            state = read_folder(folder)
        except CheckpointError as e:
            raise RequestError(f"{path}: {e}") from None
        if mid not in self.models:  # created from this state: with the state's LoRA adapters, if any
            self.lora_of[mid] = state.get("lora") or None
            self.load_model(mid)
        self.model(mid).load(state, optimizer)
        return {"path": path, "model_id": mid}

    def save_for_sampler(self, mid: str, path: str) -> dict[str, str]:
        """A servable model folder (transformers and vLLM load it) at ``path``; sampling sessions load it."""
        from vlenvs_train.train.export import write_model_folder

        folder, _ = self.folder(path, "sampler_weights")
        m = self.model(mid)
        write_model_folder(m.merged(), self.base_path, folder, {"tinker_model_id": mid, "optimizer_steps": m.steps,
                                                                 "lora": m.lora}, m.processor)
        with self.lock:
            self.samplers.pop(path, None)  # a name saved again holds new weights
        return {"path": path}

    def snapshot_sampler(self, mid: str, sid: str, seq: int) -> dict[str, str]:
        """An in-memory sampler of the model's current weights (``save_weights_and_get_sampling_client``)."""
        m = self.model(mid)
        key = f"snapshot://{mid}/{seq}"
        model = (m.merged() if m.lora else copy.deepcopy(m.model)).eval()
        self._cache_sampler(key, SamplerModel(model, m.processor, self.config.max_tokens, self.config.batch_tokens))
        return {"sampling_session_id": self.register_sampling(sid, seq, key)}

    # ------------------------------------------------------------------ sampling
    def register_sampling(self, sid: str, seq: int, key: str) -> str:
        session = self.session(sid)
        sampler_id = f"{sid}:sample:{seq}"
        with self.lock:
            session.samplers[seq] = sampler_id
            self.sampling_sessions[sampler_id] = key
        return sampler_id

    def create_sampling_session(self, sid: str, seq: int, model_path: Any, base_model: Any) -> str:
        if model_path is not None:
            folder, _ = self.folder(model_path, "sampler_weights")
            if not folder.is_dir():
                raise RequestError(f"no sampler weights at {model_path} (save them with save_weights_for_sampler)")
            return self.register_sampling(sid, seq, model_path)
        self.check_base_model(base_model)
        return self.register_sampling(sid, seq, "base")

    def sampler_key(self, sampler_id: Any) -> str:
        key = self.sampling_sessions.get(sampler_id) if isinstance(sampler_id, str) else None
        if key is None:
            raise RequestError(f"unknown sampling_session_id {sampler_id!r}")
        return key

    def _cache_sampler(self, key: str, sampler: SamplerModel) -> None:
        with self.lock:
            self.samplers[key] = sampler
            self.samplers.move_to_end(key)
            while len(self.samplers) > self.config.max_samplers:
                self.samplers.popitem(last=False)

    def sampler(self, key: str) -> SamplerModel:
        if key == "base":
            return self.base
        with self.lock:
            cached = self.samplers.get(key)
            if cached is not None:
                self.samplers.move_to_end(key)
                return cached
        if key.startswith("snapshot://"):
            raise RequestError(f"the in-memory sampler {key} was dropped (at most {self.config.max_samplers} are "
                               "held); save weights for the sampler with a name to sample them again later")
        folder, _ = self.folder(key, "sampler_weights")
        model, processor = load_runtime(folder, self.config.device)
        sampler = SamplerModel(model, processor, self.config.max_tokens, self.config.batch_tokens)
        self._cache_sampler(key, sampler)
        return sampler

    def draw_seed(self) -> int:
        with self.lock:
            return int(self.rng.integers(0, 2**62))

    def capabilities(self) -> dict[str, Any]:
        return {"supported_models": [{"model_name": self.config.model, "max_context_length": self.config.max_tokens,
                                      "trainable": True, "sampleable": True}]}

    def close(self) -> None:
        """Stop the worker after its current job; queued jobs are cancelled."""
        with self.lock:
            self.closed = True
            for job in self.queue:
                job.future.cancel()
            self.queue.clear()
            self.wake.notify_all()
        self.worker.join(timeout=60)


def _settle(future: Future, fn: Callable[[], Any]) -> None:
    if not future.set_running_or_notify_cancel():
        return
    try:
        future.set_result(fn())
    except Exception as e:  # noqa: BLE001 - the client gets it through retrieve_future
        future.set_exception(e)


def resolve_model(model: str) -> Path:
    """The folder of ``model``: the folder itself, or a bundled recipe's model (built offline if tiny)."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise InvalidConfigError(f"model folder {model!r} has no config.json")
        return path
    from vlenvs_train.train.backends import model_path
    from vlenvs_train.train.config import load_recipe, recipe_names

    if model not in recipe_names():
        raise InvalidConfigError(f"model {model!r} is neither a model folder nor a bundled recipe; recipes: "
                           f"{', '.join(recipe_names())}")
    resolved = model_path(load_recipe(model).model)
    if not Path(resolved).is_dir():
        raise InvalidConfigError(f"recipe {model!r} uses the hub model {resolved!r}; download it and give its folder")
    return Path(resolved)
