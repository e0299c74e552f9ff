"""Running, killing and resuming evaluations: a resumed run ends with exactly an uninterrupted run's results."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.evaluation import EnvEntry, EvalRunConfig, PolicyConfig, ResumeMismatchError, run_eval
from vlenvs_train.evaluation.cli import main
from vlenvs_train.policies.base import PolicyError
from vlenvs_train.policies.oracle import RandomPolicy

ENVS = (EnvEntry("vlenvs/Maze2D-v0", "easy", {"max_steps": 6}),
        EnvEntry("vlenvs/Maze2D-v0", "easy", {"max_steps": 3, "size": 7}))


def config(out, **kw):
    base = dict(envs=ENVS, policy=PolicyConfig("random", sample_seed=5), agent=AgentConfig(answer_format="answer"),
                out=str(out), episodes=10, batch=4, viewer_episodes=2)
    return EvalRunConfig(**{**base, **kw})


def episodes(out) -> dict:
    path = Path(out, "episodes.jsonl")
    lines = path.read_text().splitlines() if path.exists() else []
    recs = [json.loads(line) for line in lines]
    assert len(recs) == len({(r["env"], r["seed"]) for r in recs}), "an episode was saved twice"
    return {(r["env"], r["seed"]): r for r in recs}


def reports(out) -> tuple:
    summary = json.loads(Path(out, "summary.json").read_text())
    return {k: summary[k] for k in ("envs", "families", "all")}, Path(out, "summary.csv").read_text()


class DiesAfter:
    """The random policy of a batch, failing on its ``calls``-th call overall (a crash mid-evaluation)."""

    calls = 0

    def __init__(self, seed, limit):
        self.inner, self.limit = RandomPolicy(seed), limit

    def generate(self, requests):
        DiesAfter.calls += 1
        if DiesAfter.calls >= self.limit:
            raise PolicyError("the server went away")
        return self.inner.generate(requests)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    summary = run_eval(config(out), log=lambda s: None)
    return out, summary


def test_reports_per_env_family_and_overall(uninterrupted):
    out, summary = uninterrupted
    recs = list(episodes(out).values())
    assert len(recs) == 20 and set(summary["envs"]) == {e.key for e in ENVS}
    for env in ENVS:
        mine = [r for r in recs if r["env"] == env.key]
        m = summary["envs"][env.key]
        assert m["episodes"] == 10 and m["success_rate"] == sum(r["success"] for r in mine) / 10
        assert m["mean_length"] == sum(r["length"] for r in mine) / 10
        assert all(1 <= r["length"] <= env.kwargs["max_steps"] for r in mine)
    assert list(summary["families"]) == ["Maze2D-v0"] and summary["families"]["Maze2D-v0"]["episodes"] == 20
    assert 0 < summary["all"]["success_rate"] < 1  # random play: some wins, some losses
    rows = list(csv.DictReader(Path(out, "summary.csv").open()))
    assert [(r["level"], r["name"]) for r in rows] == [("env", ENVS[0].key), ("env", ENVS[1].key),
                                                      ("family", "Maze2D-v0"), ("all", "all")]
    # each turn says what the model saw and did; only the viewer's seeds carry frames
    turn = recs[0]["turns"][0]
    assert turn["prompt"].startswith("Step 0. Instruction:") and turn["action"] in ("up", "down", "left", "right")
    assert "Legal actions" in recs[0]["system"] and turn["reply"] == f"<answer>{turn['action']}</answer>"
    with_frames = sorted((r["env"], r["seed"]) for r in recs if "frames" in r)
    assert with_frames == sorted((e.key, s) for e in ENVS for s in (10_000_000, 10_000_001))
    r = next(r for r in recs if "frames" in r)
    assert len(r["frames"]) == r["length"] + 1 and r["frames"][0].startswith("data:image/png;base64,")


@pytest.mark.parametrize("limit", [1, 4, 9])
def test_a_crashed_run_resumes_to_the_uninterrupted_result(tmp_path, uninterrupted, limit, monkeypatch):
    import vlenvs_train.evaluation.play as play

    full_out, _ = uninterrupted
    cfg = config(tmp_path)
    DiesAfter.calls = 0
    with monkeypatch.context() as m:
        m.setattr(play, "make_policy", lambda c, chunk_seed=0: DiesAfter(c.sample_seed + chunk_seed, limit))
        with pytest.raises(PolicyError):
            run_eval(cfg, log=lambda s: None)
    partial = episodes(tmp_path)
    assert len(partial) < 20 and len(partial) % 4 == 0  # whole batches were saved, nothing else
    run_eval(cfg, log=lambda s: None)
    assert episodes(tmp_path) == episodes(full_out)
    assert reports(tmp_path) == reports(full_out)


def test_a_torn_last_line_is_dropped_and_replayed(tmp_path, uninterrupted):
    full_out, _ = uninterrupted
    lines = Path(full_out, "episodes.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "episodes.jsonl").write_text("".join(lines[:5]) + lines[5][:40])  # killed mid-write
    (tmp_path / "run.json").write_text(Path(full_out, "run.json").read_text())
    run_eval(config(tmp_path), log=lambda s: None)
    assert episodes(tmp_path) == episodes(full_out)


def test_other_arguments_are_refused_and_overwrite_starts_over(tmp_path, uninterrupted):
    run_eval(config(tmp_path, episodes=2), log=lambda s: None)
    with pytest.raises(ResumeMismatchError, match="--sample-seed 5, but this run has --sample-seed 6"):
        run_eval(config(tmp_path, policy=PolicyConfig("random", sample_seed=6)), log=lambda s: None)
    with pytest.raises(ResumeMismatchError, match="--answer-format"):
        run_eval(config(tmp_path, agent=AgentConfig(answer_format="think")), log=lambda s: None)
    # more episodes of the same run extend it (the episodes already there are kept, not replayed)
    first = episodes(tmp_path)
    summary = run_eval(config(tmp_path, episodes=10), log=lambda s: None)
    extended = episodes(tmp_path)
    assert len(extended) == 20 and summary["all"]["episodes"] == 20
    assert all(extended[k] == v for k, v in first.items())
    summary = run_eval(config(tmp_path, policy=PolicyConfig("oracle")), overwrite=True, log=lambda s: None)
    assert summary["envs"][ENVS[0].key]["success_rate"] == 1.0 and len(episodes(tmp_path)) == 20


def test_cli_killed_with_sigkill_resumes(tmp_path):
    """A real kill: SIGKILL the command once it saved a batch, rerun it, compare with a run never killed."""
    from .text_server import TextChatServer

    with TextChatServer(reply="right", delay_s=0.02) as server:
        def argv(out):
            return ["--env", "vlenvs/Maze2D-v0", "--preset", "easy", "--env-kwarg", "max_steps=2",
                    "--base-url", server.url, "--episodes", "8", "--batch", "2", "--viewer-episodes", "1",
                    "--out", str(out)]

        killed = tmp_path / "killed"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen([sys.executable, "-m", "vlenvs_train.evaluation.cli", *argv(killed)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        log = killed / "episodes.jsonl"
        while time.monotonic() < deadline and not (log.exists() and log.read_text().count("\n") >= 2):
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done_before = len(episodes(killed))
        assert 2 <= done_before < 8
        assert main(argv(killed)) == 0
        assert main(argv(tmp_path / "whole")) == 0
    assert episodes(killed) == episodes(tmp_path / "whole")
    assert reports(killed) == reports(tmp_path / "whole")


@pytest.mark.slow
def test_the_tiny_model_with_transformers(tmp_path, tiny_model_path):
    """The trainer's hf backend on a model folder: untrained replies are recorded and counted invalid."""
    out = tmp_path / "out"
    assert main(["--env", "vlenvs/Maze2D-v0", "--preset", "easy", "--env-kwarg", "max_steps=2", "--policy", "hf",
                 "--model", str(tiny_model_path), "--device", "cpu", "--max-new-tokens", "4", "--episodes", "2",
                 "--answer-format", "answer", "--out", str(out)]) == 0
    recs = list(episodes(out).values())
    summary, _ = reports(out)
    invalid = sum(not t["valid"] for r in recs for t in r["turns"])
    assert summary["all"]["invalid_rate"] == invalid / sum(r["length"] for r in recs)
    assert all(t["parse_error"] for r in recs for t in r["turns"] if not t["valid"])
    assert (out / "viewer.html").stat().st_size > 1000
