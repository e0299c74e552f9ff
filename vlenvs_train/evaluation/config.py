"""What one evaluation run is: the envs, the policy, the held-out seeds, and where results go.

Records are keyed by ``(env key, seed)``, so the envs and the seed range only select which episodes a run
wants; :meth:`EvalRunConfig.identity` is what decides how those episodes are played (policy, sampling, prompt
format, batching, seeds-or-indices) and must match for a run to resume another run's results.

With ``by_index`` (``--by-index``, implied by ``--episodes all``) an episode's seed is a problem index: it
resets with ``options={"index": seed}``, so ``--episodes all`` plays every problem of the split exactly once
(envs with a fixed problem list, e.g. Geometry3k's dataset splits; :meth:`EvalRunConfig.seeds_of`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from vlenvs.core.config import check_choice, check_float, check_int
from vlenvs.core.errors import InvalidConfigError, out_of_range
from vlenvs_train.adapter.agent import AgentConfig

POLICIES = ("oracle", "random", "hf", "vllm_engine", "openai")
Policy = Literal["oracle", "random", "hf", "vllm_engine", "openai"]
DTYPES = ("float32", "bfloat16", "float16")
#: First held-out seed by default (the trainer's held-out evaluation starts here too).
DEFAULT_SEED = 10_000_000


class ResumeMismatchError(InvalidConfigError):
    """The output folder holds results of an evaluation run with different arguments."""


@dataclass(frozen=True)
class EnvEntry:
    """One env to evaluate: ``gym.make_vec(id, preset=preset, **kwargs)``."""

    id: str
    """Registered Gymnasium id, e.g. ``"vlenvs/Maze2D-v0"``."""
    preset: str | None = None
    """Named preset of the env (``None``: its defaults)."""
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    """Config overrides (``size``, ``max_steps``, ``split``, ...)."""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise InvalidConfigError(f"invalid env id {self.id!r}; expected a registered id such as 'vlenvs/Maze2D-v0'")
        if self.preset is not None and not isinstance(self.preset, str):
            raise InvalidConfigError(f"invalid preset {self.preset!r} for {self.id}; expected a preset name")
        if not isinstance(self.kwargs, Mapping):
            raise InvalidConfigError(f"invalid env kwargs {self.kwargs!r} for {self.id}; expected a mapping")
        object.__setattr__(self, "kwargs", dict(sorted(self.kwargs.items())))

    @property
    def key(self) -> str:
        """A readable unique name: ``Maze2D-v0[easy,size=9]``."""
        name = self.id.split("/", 1)[-1]
        tags = ([self.preset] if self.preset else []) + [f"{k}={_short(v)}" for k, v in self.kwargs.items()]
        return f"{name}[{','.join(tags)}]" if tags else name

    @property
    def family(self) -> str:
        """The env id without preset or kwargs, e.g. ``Maze2D-v0`` (tasks with their own families refine it)."""
        return self.id.split("/", 1)[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "preset": self.preset, "kwargs": dict(self.kwargs)}

    @classmethod
    def from_dict(cls, data: Any, where: str = "env entry") -> EnvEntry:
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, Mapping):
            raise InvalidConfigError(f"invalid {where} {data!r}; expected an id or a mapping with id/preset/kwargs")
        unknown = set(data) - {"id", "preset", "kwargs"}
        if unknown or "id" not in data:
            raise InvalidConfigError(f"invalid {where} {dict(data)!r}; keys are id (required), preset, kwargs")
        return cls(data["id"], data.get("preset"), data.get("kwargs") or {})


def _short(value: Any) -> str:
    return json.dumps(value, separators=(",", ":")) if not isinstance(value, str) else value


def parse_kwarg(text: str) -> tuple[str, Any]:
    """``"size=9"`` -> ``("size", 9)``; the value is read as YAML (numbers, booleans, lists), else kept as text."""
    import yaml

    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InvalidConfigError(f"invalid env kwarg {text!r}; expected KEY=VALUE such as size=9")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_env_file(path: str | Path) -> list[EnvEntry]:
    """Env entries from a YAML/JSON file: a list of ids or ``{id, preset, kwargs}`` mappings (or ``{envs: [...]}``)."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise InvalidConfigError(f"env file {str(p)!r} does not exist")
    try:
        data = yaml.safe_load(p.read_text())  # JSON is YAML
    except yaml.YAMLError as e:
        raise InvalidConfigError(f"env file {str(p)!r} is not valid YAML/JSON: {e}") from None
    if isinstance(data, Mapping) and "envs" in data:
        data = data["envs"]
    if not isinstance(data, list) or not data:
        raise InvalidConfigError(f"env file {str(p)!r} must hold a non-empty list of envs (or {{envs: [...]}})")
    return [EnvEntry.from_dict(d, f"entry {k} of {p}") for k, d in enumerate(data)]


@dataclass(frozen=True)
class PolicyConfig:
    """Which policy answers, and how it samples."""

    kind: Policy = "oracle"
    """``oracle``/``random`` (scripted), ``hf`` (transformers), ``vllm_engine`` (in-process vLLM),
    ``openai`` (any OpenAI-compatible chat endpoint)."""
    model: str | None = None
    """``hf``/``vllm_engine``: a model folder, hub id or ``"tiny"``; ``openai``: the served model name
    (``None``: the first one the server lists)."""
    base_urls: tuple[str, ...] = ()
    """``openai``: API roots such as ``https://host/v1`` (requests go round-robin)."""
    api_key_env: str | None = None
    """``openai``: name of the environment variable holding the API key (the key itself is never stored)."""
    concurrency: int = 8
    """``openai``: most requests in flight at once."""
    timeout_s: float = 300.0
    """``openai``: per-request timeout."""
    max_retries: int = 3
    """``openai``: retries of a failed request (with exponential backoff)."""
    temperature: float = 0.0
    """Sampling temperature (0: greedy)."""
    max_new_tokens: int = 256
    """Longest reply in tokens."""
    sample_seed: int = 0
    """Seed of the sampler (and of the random policy)."""
    device: str = "auto"
    """``hf``: torch device."""
    dtype: Literal["float32", "bfloat16", "float16"] = "float32"
    """``hf``/``vllm_engine``: weight dtype."""

    def __post_init__(self) -> None:
        check_choice("policy", self.kind, POLICIES)
        check_choice("dtype", self.dtype, DTYPES)
        check_int("concurrency", self.concurrency, 1, 100_000)
        check_float("timeout_s", self.timeout_s, 1e-3, 86_400)
        check_int("max_retries", self.max_retries, 0, 100)
        check_float("temperature", self.temperature, 0.0, 100.0)
        check_int("max_new_tokens", self.max_new_tokens, 1, 1_000_000)
        check_int("sample_seed", self.sample_seed, 0, 2**62)
        object.__setattr__(self, "base_urls", tuple(self.base_urls))
        if self.kind == "openai" and not self.base_urls:
            raise InvalidConfigError("policy 'openai' needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if self.kind != "openai" and self.base_urls:
            raise InvalidConfigError(f"--base-url is for policy 'openai', not {self.kind!r}")
        if self.kind in ("hf", "vllm_engine") and not self.model:
            raise InvalidConfigError(f"policy {self.kind!r} needs --model (a model folder, hub id or 'tiny')")
        if self.api_key_env is not None and not self.api_key_env.strip():
            raise InvalidConfigError("--api-key-env names an environment variable; got an empty name")


@dataclass(frozen=True)
class EvalRunConfig:
    """One evaluation run: every env x every held-out seed, played by one policy."""

    envs: tuple[EnvEntry, ...]
    """The envs (keys must be distinct)."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    """Who answers."""
    agent: AgentConfig = field(default_factory=AgentConfig)
    """Prompt and reply format."""
    out: str = "runs/eval"
    """Output folder: ``episodes.jsonl``, ``summary.json``/``.csv``, ``viewer.html``."""
    episodes: int | Literal["all"] = 32
    """Episodes per env, on seeds ``seed .. seed + episodes - 1``; ``"all"``: every problem of each env's
    split once, from problem ``seed`` on (implies ``by_index``)."""
    seed: int | None = None
    """First held-out seed (``None``: 10,000,000, where the trainer's held-out evaluation starts too); with
    ``by_index`` the first problem index (``None``: 0)."""
    by_index: bool = False
    """Seeds are problem indices: episode ``k`` starts problem ``k`` of the env's split
    (``reset(options={"index": k})``), for envs that take that option (Geometry3k)."""
    batch: int = 16
    """Envs stepped together (one policy call per step answers all of them); results are saved per batch."""
    viewer_episodes: int = 8
    """Episodes per env shown in the viewer (their frames are stored with their records); 0: no viewer."""
    viewer_image_size: int = 160
    """Longest side of a viewer frame in pixels (larger frames are downscaled)."""
    viewer_max_frames: int = 60
    """Most frames kept per viewer episode (the first ones, and always the last)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "envs", tuple(self.envs))
        if not self.envs:
            raise InvalidConfigError("no env to evaluate; pass --env ID (repeatable) or --envs FILE")
        keys = [e.key for e in self.envs]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise InvalidConfigError(f"env {dupes[0]!r} is listed twice; each env (id, preset, kwargs) once")
        if self.episodes == "all":
            object.__setattr__(self, "by_index", True)
        else:
            check_int("episodes (a count or 'all')", self.episodes, 1, 10_000_000)
        if self.seed is None:
            object.__setattr__(self, "seed", 0 if self.by_index else DEFAULT_SEED)
        check_int("seed", self.seed, 0, 2**62)
        if not isinstance(self.by_index, bool):
            raise InvalidConfigError(f"invalid by_index {self.by_index!r}; expected True or False")
        check_int("batch", self.batch, 1, 100_000)
        check_int("viewer_episodes", self.viewer_episodes, 0, 100_000)
        check_int("viewer_image_size", self.viewer_image_size, 8, 4096)
        check_int("viewer_max_frames", self.viewer_max_frames, 2, 100_000)

    def seeds_of(self, env_key: str, num_problems: int | None = None) -> list[int]:
        """The seeds (with ``by_index``: problem indices) the env ``env_key`` plays; ``num_problems`` is the
        size of its split (``None``: no fixed list). Raises :class:`InvalidConfigError` for ``"all"`` without
        a fixed list, or indices past its end."""
        first = int(self.seed)  # type: ignore[arg-type] - set in __post_init__
        if self.episodes == "all":
            if num_problems is None:
                raise InvalidConfigError(f"--episodes all: env {env_key} has no fixed problem list (generated "
                                         f"problems are unbounded); pass --episodes N (with --by-index: "
                                         f"problems {first}, {first + 1}, ...)")
            if first >= num_problems:
                raise out_of_range("--seed (first problem index)", first,
                                   f"0..{num_problems - 1} ({num_problems} problems in {env_key})")
            return list(range(first, num_problems))
        last = first + int(self.episodes) - 1
        if self.by_index and num_problems is not None and last >= num_problems:
            raise out_of_range("--seed + --episodes - 1 (last problem index)", last,
                               f"0..{num_problems - 1} ({num_problems} problems in {env_key}); "
                               f"use --episodes all for the whole split")
        return list(range(first, last + 1))

    def identity(self) -> dict[str, Any]:
        """The arguments that decide how an episode is played (by command-line name); a resumed run must
        match them. Envs, seeds and episode counts only select episodes, so they may differ."""
        p = self.policy
        ident: dict[str, Any] = {"policy": p.kind, "model": p.model, "base_url": list(p.base_urls),
                                 "temperature": p.temperature, "max_new_tokens": p.max_new_tokens,
                                 "sample_seed": p.sample_seed, "dtype": p.dtype, "batch": self.batch}
        if self.by_index:  # only when set: folders of runs older than the option still resume
            ident["by_index"] = True
        ident.update({k.replace("_", "-"): v for k, v in asdict(self.agent).items()})
        return {k.replace("_", "-"): v for k, v in ident.items()}


def check_same_identity(saved: Mapping[str, Any], current: Mapping[str, Any], out: str) -> None:
    """Raise :class:`ResumeMismatchError` naming the first argument whose value differs."""
    for name in sorted(set(saved) | set(current)):
        old, new = saved.get(name), current.get(name)
        if old != new:
            raise ResumeMismatchError(
                f"{out} holds results of an evaluation with --{name} {old!r}, but this run has --{name} {new!r}; "
                f"rerun with the same arguments to resume, pass --overwrite to discard them, or choose another --out")


def env_entries(specs: Sequence[Mapping[str, Any]]) -> list[EnvEntry]:
    """Env entries from parsed ``--env/--preset/--env-kwarg`` groups."""
    return [EnvEntry.from_dict(s, f"--env {s.get('id')!r}") for s in specs]
