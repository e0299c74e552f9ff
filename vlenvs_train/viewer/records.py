"""Episodes as plain JSON records: per turn the prompt text, the reply, the action or parse error, the reward
and the env's feedback; per episode its outcome and (for the viewer) a few downscaled frames.

:class:`PromptRecorder` wraps any policy to keep the prompts it was asked (the step records of the episode
loop keep only the replies), so a record shows exactly the text the model saw.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from PIL import Image

from vlenvs.core.language import language_spec
from vlenvs_train.chat.messages import png_data_url
from vlenvs_train.policies.base import PolicyOutput, PolicyRequest

#: Longest text kept of one info value (env infos may carry long solutions).
MAX_INFO_TEXT = 2000


def message_text(message: Mapping[str, Any]) -> str:
    """The text parts of one chat message, joined by newlines (images are left out)."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(p["text"] for p in content or () if p.get("type") == "text")


class PromptRecorder:
    """A policy wrapper that remembers, per reply, the system prompt, the last user message and the legal
    actions of its request. Look a step's prompt up with :meth:`prompt_of` (keyed by the reply object).

    It passes the requests and replies through unchanged (the wrapped policy sees the same calls). Safe to call
    from several threads at once (the rollout pipeline's shards): each call only adds its own dict entries.
    Attributes are read through to the wrapped policy; set them on the wrapped policy itself."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self._prompts: dict[int, tuple[PolicyOutput, str, str, tuple[str, ...]]] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self.policy, name)

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        outputs = self.policy.generate(requests)
        for req, out in zip(requests, outputs):
            system = next((message_text(m) for m in req.messages if m.get("role") == "system"), "")
            user = next((message_text(m) for m in reversed(req.messages) if m.get("role") == "user"), "")
            self._prompts[id(out)] = (out, system, user, tuple(req.legal_actions))  # keeps `out` alive: ids stay unique
        return outputs

    def prompt_of(self, output: PolicyOutput) -> tuple[str, str, tuple[str, ...]]:
        """``(system prompt, user text, legal actions)`` of the request ``output`` answered (empty if unknown)."""
        hit = self._prompts.get(id(output))
        return hit[1:] if hit is not None and hit[0] is output else ("", "", ())

    def clear(self) -> None:
        self._prompts.clear()


def json_value(value: Any) -> Any:
    """A JSON-safe scalar of an info value (numpy scalars unwrapped, long text cut), or ``None`` to drop it."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool | int | str) or value is None:
        return value[:MAX_INFO_TEXT] if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return None


def json_info(info: Mapping[str, Any]) -> dict[str, Any]:
    """The scalar entries of an env info (arrays and objects left out)."""
    out = {}
    for key, value in info.items():
        v = json_value(value)
        if v is not None:
            out[str(key)] = v
    return out


def feedback_text(env_id: str, info: Mapping[str, Any]) -> str:
    """What the env said about a step: its ``feedback`` text and the adapter's sentences for set flags."""
    parts = [str(info["feedback"])] if isinstance(info.get("feedback"), str) and info["feedback"] else []
    spec = language_spec(env_id)  # the same lookup the agent uses (any registered env with a language.py)
    for key, sentence in (spec.feedback.items() if spec else ()):
        if bool(info.get(key, False)):
            parts.append(sentence)
    return " ".join(parts)


def frame_urls(frames: Sequence[np.ndarray], size: int, max_frames: int) -> list[str | None]:
    """PNG data URLs of ``frames`` (longest side at most ``size``); beyond ``max_frames`` only the first
    ``max_frames - 1`` and the last are kept (the others are ``None``)."""
    keep = set(range(min(len(frames), max_frames - 1))) | {len(frames) - 1}
    return [_png(f, size) if k in keep else None for k, f in enumerate(frames)]


def _png(frame: np.ndarray, size: int) -> str:
    img = Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8))
    if max(img.size) > size:
        img.thumbnail((size, size), Image.Resampling.BILINEAR)
    return png_data_url(img)


def episode_record(episode: Any, *, env_key: str, env_id: str, seed: int, family: str | None = None,
                   recorder: PromptRecorder | None = None, frames: Sequence[np.ndarray] | None = None,
                   image_size: int = 160, max_frames: int = 60) -> dict[str, Any]:
    """The JSON record of one :class:`~vlenvs_train.rollout.collect.Episode`.

    ``family``: the env family (default: a ``family`` the env's info reports, qualified by the env name, else
    the env name). ``recorder``: the :class:`PromptRecorder` the policy ran under (else prompts are empty).
    ``frames``: the episode's images (then stored downscaled for the viewer).
    """
    turns, system = [], ""
    for rec in episode.records:
        sys_text, user, legal = recorder.prompt_of(rec.output) if recorder is not None else ("", "", ())
        system = system or sys_text
        action = legal[rec.action] if legal and isinstance(rec.action, int | np.integer) else str(rec.action)
        turns.append({"prompt": user, "reply": rec.output.text, "action": action, "valid": bool(rec.valid),
                      "parse_error": rec.parse_error, "reward": float(rec.reward),
                      "feedback": feedback_text(env_id, rec.info), "info": json_info(rec.info)})
    name = env_id.split("/", 1)[-1]
    task_family = next((r.info.get("family") for r in episode.records if isinstance(r.info.get("family"), str)), None)
    record = {
        "env": env_key, "env_id": env_id, "seed": int(seed),
        "family": family or (f"{name}/{task_family}" if task_family else name),
        "success": bool(episode.success), "return": float(episode.total_reward), "length": int(episode.length),
        "invalid": int(episode.invalid_count), "terminated": bool(episode.terminated),
        "truncated": bool(episode.truncated), "system": system, "turns": turns,
    }
    if frames is not None:
        record["frames"] = frame_urls(frames, image_size, max_frames)
    return record
