"""Run an evaluation: every env x every held-out seed, batch by batch, each batch saved as it finishes.

With ``by_index`` (``--episodes all``) the seeds are problem indices: every problem of a split is played
exactly once and the summary adds the benchmark accuracy (:func:`~vlenvs_train.evaluation.summary.benchmark`).

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


def _chunks(config: EvalRunConfig, seeds: list[int]) -> list[list[int]]:
    return [seeds[k:k + config.batch] for k in range(0, len(seeds), config.batch)]


def env_seeds(config: EvalRunConfig) -> dict[str, tuple[list[int], int | None]]:
    """Per env key: the seeds (or problem indices) it plays and its split size (``None``: unknown or no
    fixed list). With ``by_index`` every env is built once here, to read its size and check it takes indices."""
    if not config.by_index:
        return {e.key: (config.seeds_of(e.key), None) for e in config.envs}
    out = {}
    for entry in config.envs:
        count = play.check_env(entry, by_index=True)
        out[entry.key] = (config.seeds_of(entry.key, count), count)
    return out


def run_eval(config: EvalRunConfig, *, policy: BatchedPolicy | None = None, overwrite: bool = False,
             log: Callable[[str], None] = print) -> dict[str, Any]:
    """Evaluate (or finish evaluating) ``config`` and write the reports; returns the summary.

    ``policy``: answer with this policy instead of building ``config.policy`` (tests, custom policies);
    ``overwrite``: discard earlier results in ``config.out`` instead of resuming them.
    """
    plan = env_seeds(config)  # before the store: a bad env or index range fails before anything is written
    with ResultStore(config.out, config.identity(), overwrite=overwrite) as store:
        todo = {e.key: [c for c in _chunks(config, plan[e.key][0]) if any(not store.done(e.key, s) for s in c)]
                for e in config.envs}
        if any(todo.values()):
            if not config.by_index:
                for entry in config.envs:
                    play.check_env(entry)  # a bad preset/kwarg fails before a model loads
            shared = policy
            if shared is None and not play.needs_fresh_policy(config.policy):
                shared = play.make_policy(config.policy)
            for entry in config.envs:
                seeds = plan[entry.key][0]
                with play.EnvPool() as pool:  # one env per batch size for all of this env's batches
                    for chunk in todo[entry.key]:
                        chunk_policy = shared if shared is not None else play.make_policy(config.policy, chunk[0])
                        store.append(_play_chunk(config, entry, chunk_policy, chunk, seeds, store, pool))
                        done = sum(store.done(entry.key, s) for s in seeds)
                        log(f"{entry.key}: batch of {'problems' if config.by_index else 'seeds'} "
                            f"{chunk[0]}..{chunk[-1]} done ({done}/{len(seeds)})")
        records = [store.records[(e.key, s)] for e in config.envs for s in plan[e.key][0]]
        summary = summarize(records, [e.key for e in config.envs], plan if config.by_index else None)
        write_reports(config, summary, records, plan, type(policy).__name__ if policy is not None else None)
    log(to_table(summary))
    return summary


def _play_chunk(config: EvalRunConfig, entry: EnvEntry, policy: BatchedPolicy, chunk: list[int], seeds: list[int],
                store: ResultStore, pool: play.EnvPool | None = None) -> list[dict[str, Any]]:
    """Play the whole ``chunk`` (so every episode plays as in an uninterrupted run, even when a torn write
    saved part of the batch) and return the records of its seeds not yet saved (frames for the viewer's)."""
    viewer_seeds = set(seeds[:config.viewer_episodes])
    frames: list[list[np.ndarray]] | None = [] if viewer_seeds & set(chunk) else None
    recorder = PromptRecorder(policy)
    episodes = play.play_episodes(entry, config.agent, recorder, chunk, frames, config.by_index, pool)
    return [episode_record(ep, env_key=entry.key, env_id=entry.id, seed=seed, recorder=recorder,
                           frames=frames[i] if frames is not None and seed in viewer_seeds else None,
                           image_size=config.viewer_image_size, max_frames=config.viewer_max_frames)
            for i, (ep, seed) in enumerate(zip(episodes, chunk)) if not store.done(entry.key, seed)]


def write_reports(config: EvalRunConfig, summary: dict[str, Any], records: list[dict[str, Any]],
                  plan: dict[str, tuple[list[int], int | None]], policy_name: str | None = None) -> None:
    """``summary.json``, ``summary.csv`` and (with ``viewer_episodes > 0``) ``viewer.html`` in ``config.out``;
    ``plan``: per env key its seeds and split size (:func:`env_seeds`); ``policy_name`` names a policy given
    instead of ``config.policy``."""
    out = Path(config.out)
    envs = [e.to_dict() | {"key": e.key, "seeds": [plan[e.key][0][0], plan[e.key][0][-1]],
                           "episodes": len(plan[e.key][0])} for e in config.envs]
    about = {"identity": config.identity(), "envs": envs, "episodes": config.episodes, "by_index": config.by_index}
    write_durably(out / "summary.json", json.dumps({"run": about, **summary}, indent=1) + "\n")
    write_durably(out / "summary.csv", to_csv(summary))
    if config.viewer_episodes:
        viewer_seeds = {(k, s) for k, (seeds, _) in plan.items() for s in seeds[:config.viewer_episodes]}
        shown = [r for r in records if (r["env"], r["seed"]) in viewer_seeds]
        model = f" {config.policy.model}" if config.policy.model else ""
        title = f"vlenvs evaluation: {policy_name or config.policy.kind + model}"
        write_viewer(shown, out / "viewer.html", title=title)
