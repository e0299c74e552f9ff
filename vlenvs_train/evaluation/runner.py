"""Run an evaluation: every env x every held-out seed, batch by batch, each batch saved as it finishes.

A rerun with the same arguments skips the ``(env, seed)`` pairs already in ``episodes.jsonl``; batches
start at the same seeds as in an uninterrupted run, and scripted-random policies and random fallbacks are
seeded per batch, so a resumed run's results equal an uninterrupted one's (model policies: with greedy
decoding, the default; sampled replies then differ only by their random draws).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vlenvs_train.evaluation import play
from vlenvs_train.evaluation.config import EnvEntry, EvalRunConfig
from vlenvs_train.evaluation.store import ResultStore
from vlenvs_train.evaluation.summary import summarize, to_csv, to_table
from vlenvs_train.policies.base import BatchedPolicy
from vlenvs_train.viewer import PromptRecorder, episode_record, write_durably, write_viewer


def _chunks(config: EvalRunConfig) -> list[list[int]]:
    seeds = config.seeds
    return [seeds[k:k + config.batch] for k in range(0, len(seeds), config.batch)]


def run_eval(config: EvalRunConfig, *, policy: BatchedPolicy | None = None, overwrite: bool = False,
             log: Callable[[str], None] = print) -> dict[str, Any]:
    """Evaluate (or finish evaluating) ``config`` and write the reports; returns the summary.

    ``policy``: answer with this policy instead of building ``config.policy`` (tests, custom policies);
    ``overwrite``: discard earlier results in ``config.out`` instead of resuming them.
    """
    with ResultStore(config.out, config.identity(), overwrite=overwrite) as store:
        todo = {e.key: [c for c in _chunks(config) if any(not store.done(e.key, s) for s in c)] for e in config.envs}
        if any(todo.values()):
            for entry in config.envs:
                play.check_env(entry)  # a bad preset/kwarg fails before a model loads
            shared = policy
            if shared is None and not play.needs_fresh_policy(config.policy):
                shared = play.make_policy(config.policy)
            for entry in config.envs:
                for chunk in todo[entry.key]:
                    chunk_policy = shared if shared is not None else play.make_policy(config.policy, chunk[0])
                    store.append(_play_chunk(config, entry, chunk_policy, chunk, store))
                    log(f"{entry.key}: batch of seeds {chunk[0]}..{chunk[-1]} done "
                        f"({sum(store.done(entry.key, s) for s in config.seeds)}/{config.episodes})")
        records = [store.records[(e.key, s)] for e in config.envs for s in config.seeds]
        summary = summarize(records, [e.key for e in config.envs])
        write_reports(config, summary, records, type(policy).__name__ if policy is not None else None)
    log(to_table(summary))
    return summary


def _play_chunk(config: EvalRunConfig, entry: EnvEntry, policy: BatchedPolicy, chunk: list[int],
                store: ResultStore) -> list[dict[str, Any]]:
    """Play the whole ``chunk`` (so every episode plays as in an uninterrupted run, even when a torn write
    saved part of the batch) and return the records of its seeds not yet saved (frames for the viewer's)."""
    viewer_seeds = set(config.seeds[:config.viewer_episodes])
    frames: list[list[np.ndarray]] | None = [] if viewer_seeds & set(chunk) else None
    recorder = PromptRecorder(policy)
    episodes = play.play_episodes(entry, config.agent, recorder, chunk, frames)
    return [episode_record(ep, env_key=entry.key, env_id=entry.id, seed=seed, recorder=recorder,
                           frames=frames[i] if frames is not None and seed in viewer_seeds else None,
                           image_size=config.viewer_image_size, max_frames=config.viewer_max_frames)
            for i, (ep, seed) in enumerate(zip(episodes, chunk)) if not store.done(entry.key, seed)]


def write_reports(config: EvalRunConfig, summary: dict[str, Any], records: list[dict[str, Any]],
                  policy_name: str | None = None) -> None:
    """``summary.json``, ``summary.csv`` and (with ``viewer_episodes > 0``) ``viewer.html`` in ``config.out``;
    ``policy_name`` names a policy given instead of ``config.policy``."""
    out = Path(config.out)
    about = {"identity": config.identity(), "envs": [e.to_dict() | {"key": e.key} for e in config.envs],
             "episodes": config.episodes, "seeds": [config.seed, config.seed + config.episodes - 1]}
    write_durably(out / "summary.json", json.dumps({"run": about, **summary}, indent=1) + "\n")
    write_durably(out / "summary.csv", to_csv(summary))
    if config.viewer_episodes:
        viewer_seeds = set(config.seeds[:config.viewer_episodes])
        shown = [r for r in records if r["seed"] in viewer_seeds]
        model = f" {config.policy.model}" if config.policy.model else ""
        title = f"vlenvs evaluation: {policy_name or config.policy.kind + model}"
        write_viewer(shown, out / "viewer.html", title=title)
