"""BatchedAgent: a batch of observations -> ONE policy call -> a batch of env actions (+ step records)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from gymnasium import spaces

from vlenvs.core.config import check_choice, check_float, check_int
from vlenvs.core.errors import InvalidConfigError, invalid_choice
from vlenvs_train.adapter.parsing import ParseResult, make_parser
from vlenvs_train.adapter.records import StepRecord
from vlenvs_train.adapter.specs import EnvSpec, spec_for_env
from vlenvs_train.chat.messages import Turn, build_messages
from vlenvs_train.chat.prompts import ANSWER_FORMATS, PROMPT_STYLES, system_prompt, user_text
from vlenvs_train.chat.types import BatchedPolicy, PolicyRequest, check_outputs

FALLBACKS = ("action", "random")


@dataclass(frozen=True)
class AgentConfig:
    """How observations become prompts and replies become actions."""

    answer_format: Literal["think", "answer"] = "think"
    """``"think"``: ``<think>...</think><answer>...</answer>``; ``"answer"``: ``<answer>...</answer>`` only."""

    prompt: Literal["full", "compact"] = "full"
    """``"full"``: a system prompt that explains the task and every action (for pretrained models);
    ``"compact"``: one line of env name, actions and answer tags, and the bare instruction as the user text
    (small models trained from scratch learn faster when the prompt does not dilute the image tokens)."""

    history_turns: int = 0
    """Past turns of the episode shown before the current one (0: only the current observation)."""

    history_images: bool = False
    """Show the past turns' images too (else only their text and the replies)."""

    strict_format: bool = False
    """A reply without ``<answer>`` tags is invalid (else the parser also reads bare or ``Answer:`` replies)."""

    fallback: Literal["action", "random"] = "action"
    """What an invalid reply does. vlenvs envs have no no-op action, so the env still steps:
    ``"action"`` sends ``fallback_action``; ``"random"`` a uniformly random legal action (discrete envs)."""

    fallback_action: str | None = None
    """Action name (or answer text) for ``fallback="action"``; ``None``: the env spec's default (else the
    first action)."""

    invalid_penalty: float = 0.0
    """Subtracted from the recorded reward of a step whose reply was invalid (0..100)."""

    feedback: bool = True
    """Tell the agent next turn that its reply was invalid (and why), plus the env's own flags (e.g. bumped)."""

    seed: int | None = None
    """Seed of the random fallback."""

    def __post_init__(self) -> None:
        check_choice("answer_format", self.answer_format, ANSWER_FORMATS)
        check_choice("prompt", self.prompt, PROMPT_STYLES)
        check_int("history_turns", self.history_turns, 0, 1000)
        check_choice("fallback", self.fallback, FALLBACKS)
        check_float("invalid_penalty", self.invalid_penalty, 0.0, 100.0)


def _info_rows(info: dict[str, Any] | None, n: int) -> list[dict[str, Any]]:
    """Per-env dicts of a vector info (``_key`` masks respected; ``final_obs``/``final_info`` left out)."""
    rows: list[dict[str, Any]] = [{} for _ in range(n)]
    for key, value in (info or {}).items():
        if key.startswith("_") or key in ("final_obs", "final_info"):
            continue
        mask = (info or {}).get(f"_{key}")
        for i in range(n):
            if mask is None or mask[i]:
                rows[i][key] = value[i]
    return rows


def _step_info_rows(info: dict[str, Any] | None, n: int) -> list[dict[str, Any]]:
    """Like :func:`_info_rows`, but envs that reset in the same step report their ``final_info``."""
    rows = _info_rows(info, n)
    if info and "final_info" in info:
        finals = _info_rows(info["final_info"], n)
        for i in np.flatnonzero(info.get("_final_info", np.zeros(n, dtype=bool))):
            rows[i] = finals[i]
    return rows


class BatchedAgent:
    """Drives a policy on a vlenvs VectorEnv: prompts in, actions out, one policy call per env step.

    Per env it keeps the episode's past turns (for the history window), the feedback for the next turn,
    the step counter and invalid-reply counts (``invalid_counts`` this episode, ``total_invalid`` overall).
    """

    def __init__(self, policy: BatchedPolicy, env: Any, config: AgentConfig = AgentConfig(),
                 spec: EnvSpec | None = None) -> None:
        if not isinstance(policy, BatchedPolicy):
            raise invalid_choice("policy", type(policy).__name__, ["an object with generate(requests)"])
        self.policy, self.config = policy, config
        self.num_envs = int(getattr(env, "num_envs", 1))
        base = getattr(env, "unwrapped", env)
        self.action_names = tuple(getattr(base, "action_names", getattr(env, "action_names", ())))
        self.spec = spec or spec_for_env(env)
        self.action_space = getattr(env, "single_action_space", getattr(env, "action_space", None))
        self.text_actions = self.spec.action_kind == "text" or isinstance(self.action_space, spaces.Text)
        self.legal = () if self.text_actions else self.action_names
        self.parser = make_parser(self.spec, self.action_names, self.action_space, config.strict_format)
        self.system = system_prompt(self.spec, self.legal, config.answer_format, config.prompt)
        self.fallback = self._resolve_fallback()
        self.rng = np.random.default_rng(config.seed)
        n = self.num_envs
        self.history: list[deque[Turn]] = [deque(maxlen=config.history_turns) for _ in range(n)]
        self.feedback_text = [""] * n
        self.steps = np.zeros(n, dtype=np.int64)
        self.episode_ids = np.zeros(n, dtype=np.int64)
        self._next_episode = 0
        self.invalid_counts = np.zeros(n, dtype=np.int64)
        self.total_invalid = np.zeros(n, dtype=np.int64)
        self.total_replies = np.zeros(n, dtype=np.int64)
        self._pending: list[StepRecord | None] = [None] * n
        self._turns: list[Turn | None] = [None] * n
        self.reset()

    def _resolve_fallback(self) -> int | str:
        name = self.config.fallback_action if self.config.fallback_action is not None else self.spec.fallback
        if self.text_actions:
            if self.config.fallback == "random":
                raise InvalidConfigError("fallback='random' needs discrete actions; this env takes text answers")
            text = name if name is not None else ""
            if self.action_space is not None and not self.action_space.contains(text):
                text = "0"  # the env's Text space rejects the empty answer: send a harmless wrong one
            return text
        if name is None:
            return 0
        if name not in self.action_names:
            raise invalid_choice("fallback_action", name, self.action_names)
        return self.action_names.index(name)

    # ------------------------------------------------------------------ API
    def reset(self, mask: np.ndarray | None = None) -> None:
        """Start new episodes for the envs in ``mask`` (all by default): new episode ids, history, feedback."""
        idx = np.arange(self.num_envs) if mask is None else np.flatnonzero(mask)
        for i in idx:
            self.history[i].clear()
            self.feedback_text[i] = ""
            self.steps[i] = 0
            self.invalid_counts[i] = 0
            self.episode_ids[i] = self._next_episode
            self._next_episode += 1
            self._pending[i] = None
            self._turns[i] = None

    def requests(self, obs: dict[str, Any], info: dict[str, Any] | None, idx: np.ndarray) -> list[PolicyRequest]:
        """The prompts of envs ``idx`` for the current observation."""
        rows = _info_rows(info, self.num_envs)
        out = []
        for i in idx:
            feedback = self.feedback_text[i] if self.config.feedback else ""
            text = user_text(obs["instruction"][i], int(self.steps[i]), feedback, self.config.prompt)
            image, cache = obs["image"][i], {}
            messages = build_messages(self.system, self.history[i], image, text, self.config.history_images, cache)
            keep = image.copy() if self.config.history_images else None
            self._turns[i] = Turn(keep, text, "", cache)
            out.append(PolicyRequest(messages, self.legal, rows[i]))
        return out

    def act(self, obs: dict[str, Any], info: dict[str, Any] | None = None,
            active: np.ndarray | None = None) -> tuple[Any, list[StepRecord | None]]:
        """Actions for every env from ONE policy call over the ``active`` envs (all by default).

        Returns the batch of actions (``int64[N]``, or a tuple of N strings for text envs; inactive envs get
        the fallback, which an autoresetting env ignores) and one :class:`StepRecord` per env (``None`` if
        inactive). Call :meth:`observe` with the env's step results next.
        """
        active = np.ones(self.num_envs, dtype=bool) if active is None else np.asarray(active, dtype=bool)
        idx = np.flatnonzero(active)
        reqs = self.requests(obs, info, idx)
        outputs = check_outputs(reqs, self.policy.generate(reqs), type(self.policy).__name__) if reqs else []
        actions: list[Any] = [self.fallback] * self.num_envs
        records: list[StepRecord | None] = [None] * self.num_envs
        for i, out in zip(idx, outputs):
            parsed = self.parser.parse(out.text)
            action = self._action_for(parsed)
            actions[i] = action
            records[i] = StepRecord(int(i), int(self.episode_ids[i]), int(self.steps[i]), out, action, parsed.valid,
                                    parsed.error, parsed.answer, parsed.tagged)
            turn = self._turns[i]
            self._turns[i] = Turn(turn.image, turn.user_text, out.text, turn.encoded) if turn is not None else None
        self._pending = records
        batch = tuple(actions) if self.text_actions else np.asarray(actions, dtype=np.int64)
        return batch, records

    def observe(self, reward: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                info: dict[str, Any] | None = None) -> list[StepRecord | None]:
        """Attach the env's step results to the records of the last :meth:`act`; update history and feedback."""
        rows = _step_info_rows(info, self.num_envs)
        records = self._pending
        for i, rec in enumerate(records):
            if rec is None:
                continue
            rec.reward = float(reward[i]) - (0.0 if rec.valid else self.config.invalid_penalty)
            rec.terminated, rec.truncated, rec.info = bool(terminated[i]), bool(truncated[i]), rows[i]
            self.total_replies[i] += 1
            if not rec.valid:
                self.invalid_counts[i] += 1
                self.total_invalid[i] += 1
            if self._turns[i] is not None and self.config.history_turns:
                self.history[i].append(self._turns[i])
            self.feedback_text[i] = self._feedback(rec, rows[i])
            self.steps[i] += 1
        self._pending = [None] * self.num_envs
        return records

    def metrics(self) -> dict[str, float]:
        """Invalid-reply rate overall and replies so far."""
        replies = int(self.total_replies.sum())
        return {"replies": replies, "invalid": int(self.total_invalid.sum()),
                "invalid_rate": float(self.total_invalid.sum() / replies) if replies else 0.0}

    # ------------------------------------------------------------ internals
    def _action_for(self, parsed: ParseResult) -> int | str:
        if parsed.valid:
            return parsed.action  # type: ignore[return-value]
        if self.config.fallback == "random" and self.action_names:
            return int(self.rng.integers(len(self.action_names)))
        return self.fallback

    def _feedback(self, rec: StepRecord, row: dict[str, Any]) -> str:
        parts = []
        if not rec.valid:
            legal = f" Answer with exactly one of: {', '.join(self.legal)}." if self.legal else ""
            parts.append(f"Your last reply was invalid: {rec.parse_error}.{legal}")
        for key, sentence in self.spec.feedback.items():
            if bool(row.get(key, False)):
                parts.append(sentence)
        return " ".join(parts)
