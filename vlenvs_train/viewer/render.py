"""A self-contained HTML trajectory viewer: one file, frames inlined as PNG data URIs, CSS and JS inline.

Per episode it shows the frames, the system prompt (once), and per turn the user message the model saw,
its reply, the parsed action or the parse error, the reward and the env's feedback. Episodes can be
filtered by success or failure; the arrow keys step through turns (left/right) and episodes (up/down).

:func:`write_viewer` takes either the evaluation's episode records (``episodes.jsonl`` lines) or the
trainer's :class:`~vlenvs_train.rollout.collect.Episode` objects with their frames::

    frames = []
    episodes = play_many(env_config, agent_config, policy, seeds, batch, frames)
    write_viewer(episodes, run_dir / "viewer.html", frames=frames, env_id=env_config.id, seeds=seeds)
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vlenvs.core.config import check_int
from vlenvs_train.viewer.files import write_durably
from vlenvs_train.viewer.page import BODY, CSS, JS
from vlenvs_train.viewer.records import PromptRecorder, episode_record


def viewer_records(episodes: Sequence[Any], *, frames: Sequence[Sequence[np.ndarray]] | None = None,
                   env_id: str = "env", seeds: Sequence[int] | None = None, recorder: PromptRecorder | None = None,
                   image_size: int = 160, max_frames: int = 60) -> list[dict[str, Any]]:
    """Episode records for the viewer: records pass through; ``Episode`` objects are converted (``frames[i]``
    and ``seeds[i]`` belong to ``episodes[i]``; without seeds the episode id is shown)."""
    out = []
    for i, ep in enumerate(episodes):
        if isinstance(ep, Mapping):
            out.append(dict(ep))
            continue
        seed = seeds[i] if seeds is not None and i < len(seeds) else ep.episode_id
        ep_frames = frames[i] if frames is not None and i < len(frames) else None
        out.append(episode_record(ep, env_key=env_id.split("/", 1)[-1], env_id=env_id, seed=int(seed),
                                  recorder=recorder, frames=ep_frames, image_size=image_size, max_frames=max_frames))
    return out


def viewer_html(records: Sequence[Mapping[str, Any]], title: str = "vlenvs evaluation") -> str:
    """The page for ``records`` (as made by :func:`viewer_records`)."""
    keep = ("env", "env_id", "seed", "family", "success", "return", "length", "invalid", "terminated", "truncated",
            "system", "turns", "frames")
    data = {"title": title, "episodes": [{k: r[k] for k in keep if k in r} for r in records]}
    # "<" escaped so that no text of a reply can close the <script> element; JSON.parse restores it
    payload = json.dumps(data, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>{BODY}"
            f"<script type=\"application/json\" id=\"data\">{payload}</script><script>{JS}</script></body></html>\n")


def write_viewer(episodes: Sequence[Any], path: str | Path, *, title: str = "vlenvs evaluation",
                 frames: Sequence[Sequence[np.ndarray]] | None = None, env_id: str = "env",
                 seeds: Sequence[int] | None = None, recorder: PromptRecorder | None = None,
                 max_episodes: int | None = None, image_size: int = 160, max_frames: int = 60) -> Path:
    """Write the viewer of ``episodes`` to ``path`` (parents created; written atomically and ``fsync``'d, so a
    killed run leaves the old file or the new one, never half of one) and return the path.

    Args:
        episodes: evaluation records (dicts) or trainer ``Episode`` objects.
        frames: for ``Episode`` objects, each episode's images (as ``play_many(..., frames)`` collects them).
        env_id: for ``Episode`` objects, the env they ran on (names them, finds the env's feedback sentences).
        seeds: for ``Episode`` objects, their seeds.
        recorder: the :class:`~vlenvs_train.viewer.records.PromptRecorder` the policy ran under, to show
            prompts (without it, prompts read "not recorded").
        max_episodes: show only the first this many episodes.
        image_size: longest side of a frame in pixels; max_frames: most frames kept per episode.
    """
    if max_episodes is not None:
        check_int("max_episodes", max_episodes, 0)
        episodes = list(episodes)[:max_episodes]
    records = viewer_records(episodes, frames=frames, env_id=env_id, seeds=seeds, recorder=recorder,
                             image_size=image_size, max_frames=max_frames)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_durably(out, viewer_html(records, title))
    return out
