"""Every vlenvs env as a SkyRL ``skyrl_gym`` text env, so SkyRL can train on vlenvs.

SkyRL's generators drive one :class:`~skyrl_gym.envs.base_text_env.BaseTextEnv` per trajectory:
``env = skyrl_gym.make(env_class, env_config=..., extras=...)``, ``conversation, meta = env.init(prompt)``,
then ``out = env.step(model_text)`` until ``out["done"]``, appending ``out["observations"]`` (chat messages)
to the conversation. :class:`VlenvsTextEnv` does this for one vlenvs env through vlenvs_train's own agent
(:class:`~vlenvs_train.adapter.agent.BatchedAgent`) and episode loop (one
:meth:`~vlenvs_train.rollout.episodes.EpisodeLoop.step` per reply; env built by
:class:`~vlenvs_train.rollout.envs.EnvFactory`): the same system prompt, per-turn user text, parser,
invalid-reply fallback, penalty and feedback as vlenvs_train's trainer, so both stacks see the same episodes.
:func:`register_vlenvs` registers every id of :data:`vlenvs.ENVS` under its Gymnasium id
(``"vlenvs/Maze2D-v0"``, ...): that id is the dataset's ``env_class``.

Options (:class:`VlenvsTextEnvConfig`) come from SkyRL's per-env-class ``env_config`` and from ``extras``
(the dataset row's other columns, e.g. ``seed``); a row's value wins, ``env_kwargs`` are merged.

Images go out as OpenAI chat ``image_url`` parts holding lossless PNG data URLs by default: SkyRL's VLM
generator renders the conversation through vLLM's OpenAI chat endpoint (so images must be JSON, not PIL),
and SkyRL's own Geometry-3K and VisGym recipes build exactly these parts. ``image_format="text"`` puts the
env's text view (its ``ansi`` render) in place of the image, for text-only LLMs and SkyRL's default generator.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

try:
    import skyrl_gym
    from omegaconf import OmegaConf
    from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput
except ImportError as exc:  # pragma: no cover - exercised only without the optional dependency
    raise ImportError("vlenvs_train.integrations.skyrl_gym needs SkyRL's env package: pip install 'skyrl-gym>=0.4'") \
        from exc

import vlenvs
from vlenvs.core.config import check_choice, check_int
from vlenvs.core.errors import InvalidConfigError, ResetNeededError, invalid_choice, out_of_range
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent
from vlenvs_train.chat.messages import to_openai_messages, to_pil
from vlenvs_train.chat.types import PolicyOutput, PolicyRequest
from vlenvs_train.rollout.envs import EnvFactory, episode_limit
from vlenvs_train.rollout.episodes import EpisodeLoop, Part, PlaySeedsTask, VectorEnvOps

ImageFormat = Literal["data_url", "pil", "array", "text"]
IMAGE_FORMATS = ("data_url", "pil", "array", "text")
#: :class:`AgentConfig` fields settable from SkyRL (answer format, strictness, fallback, penalty, feedback, ...).
#: Not the history window (SkyRL keeps the whole conversation) nor the fallback seed (the episode seed is used).
#: Option names that differ from the AgentConfig field (``prompt`` is SkyRL's dataset column).
_AGENT_RENAMED = {"prompt": "prompt_style"}
AGENT_KEYS = tuple(_AGENT_RENAMED.get(f.name, f.name) for f in dataclasses.fields(AgentConfig)
                   if f.name not in ("history_turns", "history_images", "seed"))
#: Every option key of ``env_config`` / ``extras``.
OPTION_KEYS = ("seed", "preset", "env_kwargs", "image_format", "max_turns", *AGENT_KEYS)
#: Vector-env arguments the adapter sets itself (``preset`` has its own option).
RESERVED_ENV_KWARGS = ("num_envs", "autoreset_mode", "render_mode", "copy", "preset")
#: The prompt of :func:`dataset_rows`: SkyRL's dataset needs one, :meth:`VlenvsTextEnv.init` writes the real one.
PLACEHOLDER_PROMPT = "(vlenvs episode: the environment writes this prompt)"
#: Entry point registered with skyrl_gym for every vlenvs id.
ENTRY_POINT = f"{__name__}:VlenvsTextEnv"

_NO_IDS = np.zeros(0, dtype=np.int64)
_NO_LOGPROBS = np.zeros(0, dtype=np.float32)


@dataclass(frozen=True)
class VlenvsTextEnvConfig:
    """How one SkyRL trajectory's env is made and talked to. Build it with :meth:`from_skyrl`."""

    seed: int | None = None
    """Episode seed (``reset(seed=...)``): same seed, same episode. Give every dataset row one: without it each
    trajectory gets a fresh random episode, so GRPO's samples of one prompt would not share an episode."""

    preset: str | None = None
    """Named preset of the env (e.g. ``"easy"``); ``env_kwargs`` override its fields."""

    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    """The env's keyword config (``gym.make`` kwargs, e.g. ``{"size": 9}``). In ``extras`` a JSON object string
    is accepted too, so parquet rows may carry different keys."""

    image_format: ImageFormat = "data_url"
    """How images go into messages: ``"data_url"``: ``{"type": "image_url", "image_url": {"url":
    "data:image/png;base64,..."}}`` (OpenAI/vLLM form, SkyRL's VLM generator); ``"pil"``: ``{"type": "image",
    "image": PIL.Image}`` (Hugging Face processors' chat templates); ``"array"``: ``{"type": "image", "image":
    uint8[H, W, 3]}`` (vlenvs_train's canonical form); ``"text"``: no image, the env's text view instead, and
    every message's content is a plain string (text-only models)."""

    max_turns: int | None = None
    """Most replies per episode (>= 1). SkyRL's generator also puts its ``generator.max_turns`` in
    ``extras["max_turns"]``: the smaller bound wins. Without any bound only the env's own truncation ends it."""

    agent: AgentConfig = field(default_factory=AgentConfig)
    """Answer format, parsing strictness, invalid-reply fallback, penalty and feedback (keys :data:`AGENT_KEYS`)."""

    def __post_init__(self) -> None:
        if self.seed is not None:
            object.__setattr__(self, "seed", check_int("seed", self.seed, 0, 2**63 - 1))
        if self.preset is not None and not isinstance(self.preset, str):
            raise out_of_range("preset", self.preset, "a preset name (str) or None")
        if not isinstance(self.env_kwargs, Mapping):
            raise out_of_range("env_kwargs", self.env_kwargs, "a mapping of the env's config fields")
        reserved = sorted(set(self.env_kwargs) & set(RESERVED_ENV_KWARGS))
        if reserved:
            raise InvalidConfigError(f"invalid env_kwargs key {reserved[0]!r}: the adapter sets "
                                     f"{', '.join(RESERVED_ENV_KWARGS)} itself (use the 'preset' option)")
        check_choice("image_format", self.image_format, IMAGE_FORMATS)
        if self.max_turns is not None:
            object.__setattr__(self, "max_turns", check_int("max_turns", self.max_turns, 1))
        if self.agent.history_turns or self.agent.history_images:
            raise InvalidConfigError("invalid agent config: history_turns/history_images must be 0/False, "
                                     "SkyRL keeps the conversation itself")

    @classmethod
    def from_skyrl(cls, env_config: Any = None, extras: Any = None) -> VlenvsTextEnvConfig:
        """Options from SkyRL's ``env_config`` (unknown keys are errors) and ``extras`` (only
        :data:`OPTION_KEYS` are read: SkyRL puts its own columns there too)."""
        base = _as_dict(env_config, "env_config")
        unknown = sorted(set(base) - set(OPTION_KEYS))
        if unknown:
            raise invalid_choice("env_config key", unknown[0], OPTION_KEYS)
        row = _as_dict(extras, "extras")
        opts = {**base, **{k: row[k] for k in OPTION_KEYS if k in row}}
        opts["env_kwargs"] = {**_env_kwargs(base.get("env_kwargs")), **_env_kwargs(row.get("env_kwargs"))}
        bounds = [check_int("max_turns", b, 1) for b in (base.get("max_turns"), row.get("max_turns")) if b is not None]
        opts["max_turns"] = min(bounds) if bounds else None
        opts["seed"] = _seed(opts.get("seed"))
        field_of = {v: k for k, v in _AGENT_RENAMED.items()}
        agent_opts = {field_of.get(k, k): opts.pop(k) for k in AGENT_KEYS if k in opts}
        agent = AgentConfig(**agent_opts, seed=opts["seed"])
        return cls(**opts, agent=agent)


def _as_dict(value: Any, name: str) -> dict[str, Any]:
    """A plain dict of a mapping, an OmegaConf config or a dataclass instance (``None``: empty)."""
    if value is None:
        return {}
    if OmegaConf.is_config(value):
        value = OmegaConf.to_container(value, resolve=True)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if not isinstance(value, Mapping):
        raise out_of_range(name, value, "a mapping (dict, OmegaConf DictConfig) or None")
    return dict(value)


def _env_kwargs(value: Any) -> dict[str, Any]:
    """``env_kwargs`` as a dict: a mapping, a JSON object string (parsed with ``json``, never evaluated) or None."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise out_of_range("env_kwargs", value, f"a mapping or a JSON object string ({exc})") from None
    return _as_dict(value, "env_kwargs")


def _seed(value: Any) -> Any:
    """A dataset seed as an int: parquet turns an int column with gaps into floats (NaN: no seed)."""
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return None
        if float(value).is_integer():
            return int(value)
    return value


def encode_messages(messages: Sequence[dict[str, Any]], image_format: ImageFormat,
                    text_view: str | None = None) -> list[dict[str, Any]]:
    """Canonical vlenvs_train messages in ``image_format`` (see :attr:`VlenvsTextEnvConfig.image_format`);
    ``text_view`` replaces the image for ``"text"``."""
    check_choice("image_format", image_format, IMAGE_FORMATS)
    if image_format == "data_url":
        return to_openai_messages(messages)
    out = []
    for m in messages:
        if image_format == "text":
            pieces = [(text_view or "") if p["type"] == "image" else p["text"] for p in m["content"]]
            out.append({"role": m["role"], "content": "\n".join(pieces)})
            continue
        parts = [{"type": "text", "text": p["text"]} if p["type"] != "image" else
                 {"type": "image", "image": to_pil(p["image"]) if image_format == "pil" else np.array(p["image"])}
                 for p in m["content"]]
        out.append({"role": m["role"], "content": parts})
    return out


def _info_row(info: Mapping[str, Any]) -> dict[str, Any]:
    """Env 0's entries of a vector info as plain Python values: only keys its ``_key`` mask marks for env 0 (a
    key another env set, e.g. ``is_success`` at another env's episode end, is not env 0's)."""
    row = {}
    for key, value in info.items():
        if not key.startswith("_") and bool(np.asarray(info.get(f"_{key}", (True,)))[0]):  # env 0's keys only
            item = value[0]
            row[key] = item.tolist() if isinstance(item, (np.ndarray, np.generic)) else item
    return row


class _Relay:
    """The adapter agent's policy: SkyRL's model has already written the reply; this hands it to the agent."""

    def __init__(self) -> None:
        self.text = ""

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        return [PolicyOutput(self.text, _NO_IDS, _NO_IDS, _NO_LOGPROBS) for _ in requests]


class VlenvsTextEnv(BaseTextEnv):
    """One vlenvs env behind SkyRL's text-env interface.

    ``init(prompt)`` resets the env with the configured seed and returns ``[system, user]`` messages (the
    user message holds the image and the instruction; SkyRL's dataset prompt is replaced). ``step(text)``
    parses the reply, steps the env (an invalid reply sends the fallback action, as in vlenvs_train), and
    returns the next user message (image, instruction, feedback on invalid replies and bumps; none once
    done), the env reward minus the invalid-reply penalty, ``done`` (terminated, truncated or out of turns)
    and metadata (validity, the action sent, success, the env's info).
    """

    def __init__(self, env_id: str, env_config: Any = None, extras: Any = None) -> None:
        super().__init__()
        if env_id not in vlenvs.ENVS:
            raise invalid_choice("vlenvs env id", env_id, sorted(vlenvs.ENVS))
        self.env_id = env_id
        self.config = VlenvsTextEnvConfig.from_skyrl(env_config, extras)
        self.max_turns = self.config.max_turns
        view = {"render_mode": "ansi"} if self.config.image_format == "text" else {}
        self.factory = EnvFactory(env_id, {**self.config.env_kwargs, "autoreset_mode": "Disabled", **view},
                                  self.config.preset)
        self.env = self.factory.make(1)
        self._relay = _Relay()
        self.agent = BatchedAgent(self._relay, self.env, self.config.agent)
        self.legal_actions = self.agent.legal
        self.episode_return, self.success, self.done = 0.0, False, False
        self.loop: EpisodeLoop | None = None

    def init(self, prompt: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Start the episode; return the chat prompt (system + first user message) and metadata."""
        self.agent = BatchedAgent(self._relay, self.env, self.config.agent)  # fresh counters and fallback RNG
        self.loop = EpisodeLoop(VectorEnvOps(self.env), self.agent, "Disabled", PlaySeedsTask([self.config.seed]),
                                Part(0, 0, 1, episode_limit(self.env)))
        self.loop.start()
        self.turns, self.episode_return, self.success, self.done = 0, 0.0, False, False
        metadata = {"env_id": self.env_id, "seed": self.config.seed, "legal_actions": list(self.legal_actions),
                    "info": _info_row(self.loop.info)}
        return self._prompt(), metadata

    def step(self, action: str) -> BaseTextEnvStepOutput:
        """Parse the model's reply, step the env, return the next observation, reward, done and metadata."""
        if self.loop is None:
            raise ResetNeededError("step() called before init(); call init(prompt) first")
        if self.done:
            raise ResetNeededError("step() called after the episode ended (done=True); call init() to start another")
        self.turns += 1
        self._relay.text = str(action)
        stepped = self.loop.step()
        assert stepped and self.loop.last_step is not None, "a running episode always steps"
        env_reward, terminated, truncated, info = self.loop.last_step
        record = self.loop.records[0]
        assert record is not None, "the agent records every active env"
        row = _info_row(info)
        env_done = bool(terminated[0] or truncated[0])
        out_of_turns = self.max_turns is not None and self.turns >= self.max_turns
        self.done = env_done or out_of_turns
        self.episode_return += record.reward
        self.success = bool(row.get("success", False))
        metadata = {
            "valid": record.valid, "parse_error": record.parse_error, "answer": record.answer,
            "action": self._action_text(record.action), "env_reward": float(env_reward[0]),
            "terminated": bool(terminated[0]), "truncated": bool(truncated[0]),
            "max_turns_reached": out_of_turns and not env_done, "success": self.success, "turn": self.turns,
            "info": row,
        }
        observations = [] if self.done else self._prompt()[-1:]
        return BaseTextEnvStepOutput(observations=observations, reward=float(record.reward), done=self.done,
                                     metadata=metadata)

    def get_metrics(self) -> dict[str, float]:
        """Episode stats; SkyRL averages them over episodes (``BaseTextEnv.aggregate_metrics``)."""
        invalid = int(self.agent.invalid_counts[0])
        return {"turns": float(self.turns), "success": float(self.success), "return": float(self.episode_return),
                "invalid_replies": float(invalid), "invalid_rate": invalid / self.turns if self.turns else 0.0}

    def close(self) -> None:
        self.env.close()

    # ------------------------------------------------------------ internals
    def _prompt(self) -> list[dict[str, Any]]:
        """System prompt + the current user turn, in the configured image format."""
        assert self.loop is not None
        request = self.agent.requests(self.loop.obs, self.loop.info, np.zeros(1, dtype=np.int64))[0]
        view = self.env.render()[0] if self.config.image_format == "text" else None
        return encode_messages(request.messages, self.config.image_format, view)

    def _action_text(self, action: int | str) -> str:
        return str(action) if self.agent.text_actions else self.agent.action_names[int(action)]


def register_vlenvs(env_ids: Iterable[str] | None = None) -> tuple[str, ...]:
    """Register vlenvs ids (default: every id of :data:`vlenvs.ENVS`) with skyrl_gym; safe to call again.

    Call it in the process that makes the envs (e.g. inside SkyRL's Ray entrypoint task).
    """
    ids = tuple(sorted(vlenvs.ENVS) if env_ids is None else env_ids)
    for env_id in ids:
        if env_id not in vlenvs.ENVS:
            raise invalid_choice("vlenvs env id", env_id, sorted(vlenvs.ENVS))
        spec = skyrl_gym.registry.get(env_id)
        if spec is not None and spec.entry_point == ENTRY_POINT and spec.kwargs.get("env_id") == env_id:
            continue
        skyrl_gym.register(id=env_id, entry_point=ENTRY_POINT, kwargs={"env_id": env_id})  # raises if taken
    return ids


def dataset_rows(env_id: str, seeds: Iterable[int], **options: Any) -> list[dict[str, Any]]:
    """Rows of a SkyRL prompt dataset: one episode of ``env_id`` per seed, ``options`` as extra columns.

    SkyRL's dataset needs ``prompt`` and ``env_class``; every other column reaches the env as ``extras``. The
    placeholder prompt is replaced by :meth:`VlenvsTextEnv.init`; ``env_kwargs`` is stored as a JSON string.
    Every row is validated here, not later in a rollout worker. Save with ``pandas.DataFrame(rows).to_parquet``.
    """
    if env_id not in vlenvs.ENVS:
        raise invalid_choice("vlenvs env id", env_id, sorted(vlenvs.ENVS))
    allowed = [k for k in OPTION_KEYS if k != "seed"]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise invalid_choice("dataset option", unknown[0], allowed)
    if isinstance(options.get("env_kwargs"), Mapping):
        options["env_kwargs"] = json.dumps(dict(options["env_kwargs"]))
    rows = []
    for seed in seeds:
        row = {"prompt": [{"role": "user", "content": PLACEHOLDER_PROMPT}], "env_class": env_id, "seed": seed,
               **options}
        row["seed"] = VlenvsTextEnvConfig.from_skyrl(None, row).seed
        rows.append(row)
    return rows


__all__ = [
    "IMAGE_FORMATS",
    "OPTION_KEYS",
    "VlenvsTextEnv",
    "VlenvsTextEnvConfig",
    "dataset_rows",
    "encode_messages",
    "register_vlenvs",
]
