"""Trainer configuration: one validated dataclass per component, recipes as YAML files, ``key=value`` overrides.

A recipe is a YAML mapping with one section per component (``model``, ``env``, ``agent``, ``sampler``,
``sft``, ``grpo``, ``eval``, ``rollout``) plus the run's own keys (and optionally ``base: OTHER_RECIPE`` to
extend one); :func:`load_recipe` reads a bundled recipe by name
(``vlenvs_train/recipes/NAME.yaml``) or any path, applies overrides such as ``grpo.iterations=5`` and
validates everything before any work starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from vlenvs.core.config import check_choice, check_float, check_int
from vlenvs.core.errors import InvalidConfigError, invalid_choice, out_of_range
from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.rollout.pipeline import PipelineConfig

RECIPES_DIR = Path(__file__).resolve().parent.parent / "recipes"
BACKENDS = ("hf", "vllm_engine", "openai_server")
DTYPES = ("float32", "bfloat16", "float16")
ROLLOUT_BACKENDS = ("sync", "inline", "process", "ray")
_PIPELINE = PipelineConfig()  # the pipeline's defaults


@dataclass(frozen=True)
class ModelConfig:
    """Which model is trained and where it runs."""

    path: str = "tiny"
    """A model folder or hub id (Qwen2.5-VL, Qwen3-VL, ...), or ``"tiny"``: the offline tiny model built
    from ``tiny`` into the vlenvs cache."""
    tiny: dict[str, Any] = field(default_factory=dict)
    """Sizes of the tiny model (:class:`~vlenvs_train.models.tiny.TinyVLMConfig` fields) when ``path="tiny"``."""
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    """Dtype of the trained weights."""
    device: str = "auto"
    """``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda:0"``, ..."""
    gradient_checkpointing: bool = False
    """Trade compute for memory in the backward pass (large models)."""

    def __post_init__(self) -> None:
        check_choice("model.dtype", self.dtype, DTYPES)
        if not self.path:
            raise InvalidConfigError("model.path is empty; give a model folder, a hub id or 'tiny'")


@dataclass(frozen=True)
class EnvConfig:
    """The env the policy plays (training and evaluation)."""

    id: str = "vlenvs/Maze2D-v0"
    """Registered Gymnasium id."""
    preset: str | None = "easy"
    """Named preset of the env (``None``: its defaults)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    """Config overrides passed to ``gym.make_vec`` (e.g. ``image_size``, ``max_steps``)."""

    def __post_init__(self) -> None:
        if not isinstance(self.kwargs, Mapping):
            raise InvalidConfigError(f"env.kwargs must be a mapping, got {self.kwargs!r}")


@dataclass(frozen=True)
class SamplerConfig:
    """Who samples the rollouts (the trainer's weights are synced to it after every update)."""

    backend: Literal["hf", "vllm_engine", "openai_server"] = "hf"
    """``"hf"``: transformers ``generate`` on the trained model itself (in-process, no copy); ``"vllm_engine"``:
    an in-process ``vllm.LLM`` updated with ``update_weights``; ``"openai_server"``: a vLLM server (weights
    are not synced: evaluation or fixed-policy rollouts only)."""
    temperature: float = 1.0
    """Sampling temperature of training rollouts."""
    max_new_tokens: int = 16
    """Longest reply in tokens."""
    seed: int = 0
    """Sampler seed (restored on resume)."""
    vllm: dict[str, Any] = field(default_factory=dict)
    """:class:`~vlenvs_train.policies.vllm_engine.VLLMEngineConfig` fields (``vllm_engine``)."""
    server: dict[str, Any] = field(default_factory=dict)
    """:class:`~vlenvs_train.policies.openai_server.ServerConfig` fields (``openai_server``)."""

    def __post_init__(self) -> None:
        check_choice("sampler.backend", self.backend, BACKENDS)
        check_float("sampler.temperature", self.temperature, 0.0, 100.0)
        check_int("sampler.max_new_tokens", self.max_new_tokens, 1, 1_000_000)
        check_int("sampler.seed", self.seed, 0, 2**62)


@dataclass(frozen=True)
class SFTConfig:
    """Supervised fine-tuning on demonstrations, loss on assistant tokens only."""

    source: Literal["oracle", "jsonl", "none"] = "oracle"
    """``"oracle"``: episodes of the env's oracle (shortest paths; Geometry's worked solutions), prompted
    exactly as the sampler prompts; ``"jsonl"``: chat conversations from ``dataset``; ``"none"``: skip SFT."""
    dataset: str | None = None
    """JSONL file for ``source="jsonl"`` (one ``{"messages": [...]}`` per line; image parts name a file)."""
    num_episodes: int = 64
    """Oracle episodes to record (``source="oracle"``)."""
    seed: int = 1_000_000
    """First env seed of the oracle episodes (disjoint from RL's and evaluation's seeds)."""
    epochs: int = 2
    """Passes over the demonstrations."""
    batch_size: int = 32
    """Turns per optimizer step."""
    micro_batch_size: int = 32
    """Turns per forward/backward (gradients are accumulated up to ``batch_size``)."""
    lr: float = 1e-3
    """Adam learning rate."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip."""

    def __post_init__(self) -> None:
        check_choice("sft.source", self.source, ("oracle", "jsonl", "none"))
        if self.source == "jsonl" and not self.dataset:
            raise InvalidConfigError("sft.source='jsonl' needs sft.dataset (a JSONL file of chat conversations)")
        check_int("sft.num_episodes", self.num_episodes, 1, 10_000_000)
        check_int("sft.seed", self.seed, 0, 2**62)
        check_int("sft.epochs", self.epochs, 0, 100_000)
        check_int("sft.batch_size", self.batch_size, 1, 1_000_000)
        check_int("sft.micro_batch_size", self.micro_batch_size, 1, 1_000_000)
        check_float("sft.lr", self.lr, 0.0, 10.0)
        check_float("sft.max_grad_norm", self.max_grad_norm, 0.0, 1e9)


@dataclass(frozen=True)
class GRPOConfig:
    """Multi-turn GRPO: groups of episodes from one env seed, PPO-clipped token loss over assistant turns."""

    iterations: int = 20
    """Rollout + update iterations."""
    groups: int = 8
    """Env seeds (groups) per iteration."""
    group_size: int = 8
    """Episodes per group (same seed, different samples)."""
    seed: int = 0
    """First env seed of training; iteration ``k`` uses seeds ``seed + k * groups ...``."""
    lr: float = 5e-4
    """Adam learning rate."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    ppo_epochs: int = 1
    """Passes over each iteration's turns."""
    minibatches: int = 1
    """Optimizer steps per pass."""
    micro_batch_size: int = 64
    """Turns per forward/backward (gradient accumulation)."""
    clip_low: float = 0.2
    """PPO clip below 1 (ratio >= 1 - clip_low)."""
    clip_high: float = 0.28
    """PPO clip above 1 (ratio <= 1 + clip_high; DAPO's "clip higher")."""
    advantage: Literal["episode", "turn"] = "episode"
    """``"episode"``: every turn gets its episode return's group-normalised advantage; ``"turn"``: its own
    return-to-go's (per-turn rewards)."""
    advantage_scale: Literal["std", "none"] = "std"
    """Divide by the group's standard deviation (GRPO) or only centre (Dr. GRPO)."""
    gamma: float = 1.0
    """Discount of per-turn returns-to-go (``advantage="turn"``)."""
    old_logprobs: Literal["behaviour", "recompute"] = "behaviour"
    """PPO's old log-probs: the sampler's (``"behaviour"``: no extra pass; exact when the sampler is the trained
    model) or recomputed by the trainer before the update (``"recompute"``: then the truncated importance
    weight corrects the sampler/trainer mismatch, e.g. vLLM or bf16)."""
    is_level: Literal["token", "sequence", "none"] = "token"
    """Truncated importance weight ``pi_old / pi_behaviour`` per token, per turn, or none."""
    is_cap: float = 2.0
    """Cap of the truncated importance weight."""
    kl_coef: float = 0.0
    """Weight of the k3 KL to the initial (reference) model; 0 (the default) keeps no reference model."""
    max_grad_norm: float = 1.0
    """Gradient-norm clip."""
    skip_zero_advantage: bool = True
    """Leave out turns whose advantage is 0 (groups with equal returns): they contribute no gradient."""

    def __post_init__(self) -> None:
        check_int("grpo.iterations", self.iterations, 0, 10_000_000)
        check_int("grpo.groups", self.groups, 1, 1_000_000)
        check_int("grpo.group_size", self.group_size, 2, 1_000_000)
        check_int("grpo.seed", self.seed, 0, 2**62)
        check_float("grpo.lr", self.lr, 0.0, 10.0)
        check_float("grpo.weight_decay", self.weight_decay, 0.0, 10.0)
        check_int("grpo.ppo_epochs", self.ppo_epochs, 1, 1000)
        check_int("grpo.minibatches", self.minibatches, 1, 1_000_000)
        check_int("grpo.micro_batch_size", self.micro_batch_size, 1, 1_000_000)
        check_float("grpo.clip_low", self.clip_low, 0.0, 1.0)
        check_float("grpo.clip_high", self.clip_high, 0.0, 100.0)
        check_choice("grpo.advantage", self.advantage, ("episode", "turn"))
        check_choice("grpo.advantage_scale", self.advantage_scale, ("std", "none"))
        check_float("grpo.gamma", self.gamma, 0.0, 1.0)
        check_choice("grpo.old_logprobs", self.old_logprobs, ("behaviour", "recompute"))
        check_choice("grpo.is_level", self.is_level, ("token", "sequence", "none"))
        check_float("grpo.is_cap", self.is_cap, 1.0, 1e6)
        check_float("grpo.kl_coef", self.kl_coef, 0.0, 1e6)
        check_float("grpo.max_grad_norm", self.max_grad_norm, 0.0, 1e9)


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation on held-out env seeds."""

    episodes: int = 128
    """Episodes of the final evaluation (one per seed)."""
    seed: int = 10_000_000
    """First held-out seed (training uses seeds far below, SFT from ``sft.seed``)."""
    temperature: float = 0.0
    """Sampling temperature (0: greedy)."""
    batch: int = 64
    """Envs played at once."""
    every: int = 5
    """Quick evaluation every this many GRPO iterations (0: none)."""
    quick_episodes: int = 64
    """Episodes of the quick evaluations."""
    gif_episodes: int = 4
    """Episodes shown in the before/after GIF (0: no GIF)."""

    def __post_init__(self) -> None:
        check_int("eval.episodes", self.episodes, 1, 10_000_000)
        check_int("eval.seed", self.seed, 0, 2**62)
        check_float("eval.temperature", self.temperature, 0.0, 100.0)
        check_int("eval.batch", self.batch, 1, 1_000_000)
        check_int("eval.every", self.every, 0, 10_000_000)
        check_int("eval.quick_episodes", self.quick_episodes, 1, 10_000_000)
        check_int("eval.gif_episodes", self.gif_episodes, 0, 64)


@dataclass(frozen=True)
class RolloutConfig:
    """Where GRPO rollouts and evaluations are played (SFT's oracle demonstrations always play in-process).

    Every pipeline setting is validated by :class:`~vlenvs_train.rollout.pipeline.PipelineConfig` itself
    (also with ``backend="sync"``, so that a bad value is caught before switching backends).
    """

    backend: Literal["sync", "inline", "process", "ray"] = "sync"
    """``"sync"`` (the default): one vector env in this process, one sampler call per env step over all envs.
    ``"inline"``/``"process"``/``"ray"``: the asynchronous env-worker pipeline
    (:class:`~vlenvs_train.rollout.pipeline.RolloutPipeline`), envs in threads of this process, in local worker
    processes, or in Ray actors; env shards step and render while the sampler generates for other shards."""
    num_workers: int = _PIPELINE.num_workers
    """Env workers (local processes, Ray actors, or host objects for ``"inline"``)."""
    num_shards: int | None = None
    """Vector envs a rollout's envs are split into (one sampler call per shard and step); ``None``: the
    pipeline's default (``2 * num_workers``, at most one per env). With ONE shard (``num_workers: 1``) the
    sampler sees the same batches as ``"sync"`` and a seeded run is reproduced exactly; with more, batches are
    smaller and their order follows the workers' timing, so sampled replies (temperature > 0) differ from
    ``"sync"`` and between runs (greedy replies do not)."""
    ray_address: str | None = None
    """``backend="ray"``: the cluster to join (``"auto"``, ``"HOST:PORT"``, ``"ray://HOST:PORT"``, ``"local"``);
    ``None``: ``ray.init()``'s default (``RAY_ADDRESS``, else a new local Ray instance)."""
    policy_concurrency: int = _PIPELINE.policy_concurrency
    """Sampler calls in flight at once: 1 for the in-process samplers (``hf``, ``vllm_engine``); more only with
    ``sampler.backend="openai_server"`` (the servers batch concurrent requests)."""
    max_worker_restarts: int = _PIPELINE.max_worker_restarts
    """Dead workers replaced per rollout call (the episodes they ran are replayed from their seeds) before the
    run stops with :class:`~vlenvs_train.rollout.workers.WorkerDiedError`."""
    worker_timeout_s: float = _PIPELINE.worker_timeout_s
    """A worker that does not answer a call within this many seconds is killed and replaced."""

    def __post_init__(self) -> None:
        check_choice("rollout.backend", self.backend, ROLLOUT_BACKENDS)
        if self.ray_address is not None and (not isinstance(self.ray_address, str) or not self.ray_address):
            raise out_of_range("rollout.ray_address", self.ray_address,
                               "null or a Ray address such as 'auto', 'HOST:PORT', 'ray://HOST:PORT', 'local'")
        self._pipeline("inline" if self.backend == "sync" else self.backend)

    def pipeline_config(self) -> PipelineConfig | None:
        """The pipeline's config, or ``None`` for synchronous rollouts (``backend="sync"``)."""
        return None if self.backend == "sync" else self._pipeline(self.backend)

    def _pipeline(self, backend: str) -> PipelineConfig:
        try:
            return PipelineConfig(backend=backend, num_workers=self.num_workers,  # type: ignore[arg-type]
                                  num_shards=0 if self.num_shards is None else self.num_shards,
                                  policy_concurrency=self.policy_concurrency, ray_address=self.ray_address,
                                  worker_timeout_s=self.worker_timeout_s, max_worker_restarts=self.max_worker_restarts)
        except InvalidConfigError as e:
            raise InvalidConfigError(f"rollout: {e}") from None


@dataclass(frozen=True)
class TrainConfig:
    """A whole run: its components, where it writes, how often it checkpoints."""

    name: str = "run"
    """Run name (the recipe's)."""
    out_dir: str = "runs/run"
    """Folder for checkpoints, metrics, plots and GIFs."""
    seed: int = 0
    """Seed of torch/numpy/python RNGs (model-side randomness)."""
    torch_threads: int = 1
    """``torch.set_num_threads`` (0: leave torch's default). 1 is fastest on a shared 2-core box: OpenMP threads
    that wait for a busy core are many times slower than one thread."""
    checkpoint_every: int = 5
    """Checkpoint every this many GRPO iterations (and after SFT and at the end); 0: only those."""
    keep_checkpoints: int = 2
    """Checkpoints kept (older ones are deleted)."""
    tensorboard: bool = True
    """Also write TensorBoard event files (if the ``tensorboard`` package is installed)."""
    progress: bool = True
    """Show progress bars."""
    model: ModelConfig = field(default_factory=ModelConfig)
    env: EnvConfig = field(default_factory=EnvConfig)
    agent: AgentConfig = field(default_factory=lambda: AgentConfig(answer_format="answer"))
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0, 2**62)
        check_int("torch_threads", self.torch_threads, 0, 1024)
        check_int("checkpoint_every", self.checkpoint_every, 0, 10_000_000)
        check_int("keep_checkpoints", self.keep_checkpoints, 1, 1000)
        if self.sampler.backend == "openai_server" and self.grpo.iterations > 0:
            raise InvalidConfigError("sampler.backend='openai_server' cannot receive weight updates; use it for "
                                     "evaluation (grpo.iterations=0) or use 'hf'/'vllm_engine' for training")
        concurrency = self.rollout.policy_concurrency
        if concurrency > 1 and self.rollout.backend != "sync" and self.sampler.backend != "openai_server":
            raise InvalidConfigError(f"rollout.policy_concurrency={concurrency} needs sampler.backend='openai_server'; "
                                     f"the in-process sampler {self.sampler.backend!r} serves one call at a time "
                                     "(use rollout.policy_concurrency=1)")
        shards = self.rollout.num_shards
        if shards and self.rollout.backend != "sync":
            fewest, what = min((n, what) for what, n in self.rollout_sizes().items())
            if shards > fewest:
                raise InvalidConfigError(f"rollout.num_shards={shards} is more than the {fewest} envs of a rollout "
                                         f"call ({what}); a shard needs one env at least: use rollout.num_shards <= "
                                         f"{fewest}, or null for the pipeline's default")

    def rollout_sizes(self) -> dict[str, int]:
        """The fewest envs each kind of rollout call plays at once (evaluations play ``eval.batch`` at a time)."""
        def last_chunk(episodes: int) -> int:
            return episodes % self.eval.batch or min(episodes, self.eval.batch)

        sizes = {f"eval.episodes={self.eval.episodes} in eval.batch={self.eval.batch}": last_chunk(self.eval.episodes)}
        if self.grpo.iterations:
            sizes["grpo.groups * grpo.group_size"] = self.grpo.groups * self.grpo.group_size
        if self.eval.every and self.grpo.iterations > self.eval.every:
            sizes[f"eval.quick_episodes={self.eval.quick_episodes} in eval.batch={self.eval.batch}"] = \
                last_chunk(self.eval.quick_episodes)
        return sizes

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


SECTIONS: dict[str, type] = {"model": ModelConfig, "env": EnvConfig, "agent": AgentConfig, "sampler": SamplerConfig,
                             "sft": SFTConfig, "grpo": GRPOConfig, "eval": EvalConfig, "rollout": RolloutConfig}


def _build(cls: type, values: Mapping[str, Any], where: str) -> Any:
    if not isinstance(values, Mapping):
        raise InvalidConfigError(f"recipe section {where!r} must be a mapping, got {values!r}")
    types = {f.name: f.type for f in dataclasses.fields(cls)}
    names = list(types)
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise invalid_choice(f"{where} key" if where else "recipe key", unknown[0], names)
    return cls(**{k: _number(v) if types[k] == "float" else v for k, v in values.items()})


def _number(value: Any) -> Any:
    """YAML 1.1 reads ``1e-4`` as a string: float fields take such strings as numbers (else left as is,
    for the field's validation to reject)."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def config_from_dict(data: Mapping[str, Any]) -> TrainConfig:
    """A validated :class:`TrainConfig` from a nested mapping (a parsed recipe)."""
    data = dict(data or {})
    for name, cls in SECTIONS.items():
        if name in data:
            data[name] = _build(cls, data[name], name)
    return _build(TrainConfig, data, "")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"grpo.lr=1e-4"`` -> ``(["grpo", "lr"], 1e-4)`` (the value is parsed as YAML: numbers, bools, lists)."""
    import yaml

    if "=" not in text:
        raise InvalidConfigError(f"invalid override {text!r}; expected KEY=VALUE such as grpo.iterations=5")
    key, raw = text.split("=", 1)
    path = [k for k in key.strip().split(".") if k]
    if not path:
        raise InvalidConfigError(f"invalid override {text!r}; the key is empty")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path, value


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for k in path[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise InvalidConfigError(f"override {text!r}: {k!r} is not a section")
        node[path[-1]] = value
    return data


def recipe_names() -> list[str]:
    """The bundled recipes (files starting with ``_`` are bases other recipes extend)."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml") if not p.stem.startswith("_"))


def deep_merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


def read_recipe(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    """A recipe file as a mapping, merged over its ``base:`` recipe (a bundled name or a path) if it has one."""
    import yaml

    if path in seen:
        raise InvalidConfigError(f"recipe {str(path)!r} extends itself (base chain {[str(p) for p in seen]})")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise InvalidConfigError(f"recipe {str(path)!r} is not a YAML mapping")
    base = data.pop("base", None)
    if base is None:
        return data
    base_path = RECIPES_DIR / f"{base}.yaml" if (RECIPES_DIR / f"{base}.yaml").exists() else recipe_path(base)
    return deep_merge(read_recipe(base_path, (*seen, path)), data)


def recipe_path(name_or_path: str | Path) -> Path:
    """A bundled recipe's file (by name) or the given path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.exists():
            raise InvalidConfigError(f"recipe file {str(path)!r} does not exist")
        return path
    bundled = RECIPES_DIR / f"{name_or_path}.yaml"
    if not bundled.exists():
        raise invalid_choice("recipe", str(name_or_path), recipe_names() + ["a path to a .yaml file"])
    return bundled


def load_recipe(name_or_path: str | Path, overrides: Sequence[str] = ()) -> TrainConfig:
    """Read a recipe, apply ``key=value`` overrides, validate. ``name``/``out_dir`` default to the recipe's."""
    path = recipe_path(name_or_path)
    data = read_recipe(path)
    data.setdefault("name", path.stem)
    data.setdefault("out_dir", f"runs/{data['name']}")
    return config_from_dict(apply_overrides(data, overrides))


def save_config(config: TrainConfig, path: str | Path) -> None:
    import yaml

    Path(path).write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
