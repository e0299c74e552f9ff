"""A whole dataset split as a benchmark: every problem played exactly once by index, accuracy (EasyR1
protocol) equal to what the policy got right, ungradable replies counted apart, resumable after a crash."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from vlenvs.core.errors import InvalidConfigError
from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.evaluation import EnvEntry, EvalRunConfig, PolicyConfig, run_eval
from vlenvs_train.evaluation.cli import main
from vlenvs_train.viewer.records import message_text
from vlenvs_train.evaluation.summary import EASYR1
from vlenvs_train.policies.base import PolicyError
from vlenvs_train.policies.oracle import scripted_output

N = 7
UNGRADABLE = 3  # the problem answered outside the grader's grammar
FAMILIES = ("Triangle", "Circle")


def gold(k: int) -> str:
    return str(10 + k)


@pytest.fixture(scope="module")
def split_dir(tmp_path_factory) -> str:
    """A Geometry3K test split of N problems in the InterGPS folder layout (ids 2401..)."""
    root = tmp_path_factory.mktemp("geometry3k")
    for k in range(N):
        d = root / "test" / str(2401 + k)
        d.mkdir(parents=True)
        meta = {"id": 2401 + k, "problem_text": "Find x.", "annotat_text": f"Problem {k}: find x.",
                "choices": [gold(k), str(20 + k), "30", "40"], "answer": "A", "precise_value": 10.0 + k,
                "problem_type_graph": [FAMILIES[k % 2]], "problem_type_goal": ["Length"]}
        (d / "data.json").write_text(json.dumps(meta))
        buf = io.BytesIO()
        Image.new("RGB", (40, 30), (20 * k, 100, 50)).save(buf, format="PNG")
        (d / "img_diagram.png").write_bytes(buf.getvalue())
    return str(root)


class Student:
    """Reads the problem number off the prompt (as a model would): right on even problems, a wrong value on
    odd ones, an ungradable expression on problem ``UNGRADABLE``. ``die_at``: fail on that call (a crash)."""

    def __init__(self, die_at: int | None = None):
        self.calls, self.die_at, self.seen = 0, die_at, []

    def generate(self, requests):
        self.calls += 1
        if self.die_at is not None and self.calls >= self.die_at:
            raise PolicyError("the server went away")
        out = []
        for req in requests:
            text = "\n".join(message_text(m) for m in req.messages if m.get("role") == "user")
            k = int(re.search(r"Problem (\d+):", text).group(1))
            self.seen.append(k)
            out.append(scripted_output("x^2" if k == UNGRADABLE else gold(k) if k % 2 == 0 else "999"))
        return out


def config(out, split_dir, **kw) -> EvalRunConfig:
    base = dict(envs=(EnvEntry("vlenvs/Geometry3k-v0", "geometry3k_eval", {"data_dir": split_dir}),),
                agent=AgentConfig(answer_format="answer"), out=str(out), episodes="all", batch=3, viewer_episodes=2)
    return EvalRunConfig(**{**base, **kw})


def records(out) -> dict:
    lines = Path(out, "episodes.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    assert len(recs) == len({(r["env"], r["seed"]) for r in recs}), "a problem was saved twice"
    return {(r["env"], r["seed"]): r for r in recs}


def summary_of(out) -> dict:
    data = json.loads(Path(out, "summary.json").read_text())
    return {k: data[k] for k in ("envs", "families", "all", "benchmark")}


@pytest.fixture(scope="module")
def whole(tmp_path_factory, split_dir):
    out = tmp_path_factory.mktemp("whole")
    student = Student()
    summary = run_eval(config(out, split_dir), policy=student, log=lambda s: None)
    return out, summary, student


def test_every_problem_is_played_exactly_once_in_batches_of_three(whole):
    out, _, student = whole
    recs = list(records(out).values())
    assert sorted(student.seen) == list(range(N))  # the policy was asked each problem once
    assert sorted(r["seed"] for r in recs) == list(range(N))
    for r in recs:
        info = r["turns"][0]["info"]
        assert info["problem_index"] == r["seed"] and info["problem_id"] == f"test-{2401 + r['seed']}"
        assert info["num_problems"] == N and r["length"] == 1  # one reply per problem (max_attempts=1)


def test_accuracy_is_what_the_policy_got_right_and_ungradable_is_counted_apart(whole):
    out, summary, _ = whole
    right = [k for k in range(N) if k % 2 == 0]
    (key, bench), = summary["benchmark"].items()
    assert bench["protocol"] == EASYR1 and bench["whole_split"] and bench["split_size"] == N
    assert (bench["problems"], bench["correct"]) == (N, len(right))
    env = summary["envs"][key]
    assert bench["accuracy"] == len(right) / N == env["accuracy"] == env["success_rate"]
    assert bench["ungradable"] == 1 and bench["ungradable_rate"] == 1 / N
    assert env["ungradable_rate"] == 1 / N
    recs = records(out)
    turn = recs[(key, UNGRADABLE)]["turns"][0]
    assert turn["info"]["ungradable"] and turn["info"]["grade_method"].startswith("rejected:")
    assert not recs[(key, UNGRADABLE)]["success"]
    assert not any(recs[(key, k)]["turns"][0]["info"]["ungradable"] for k in range(N) if k != UNGRADABLE)
    # per problem family: even problems are triangles (all right), odd ones circles (all wrong)
    fams = bench["families"]
    assert fams["Geometry3k-v0/Triangle/Length"] == {"problems": 4, "correct": 4, "accuracy": 1.0,
                                                     "ungradable": 0, "ungradable_rate": 0.0}
    circles = fams["Geometry3k-v0/Circle/Length"]
    assert (circles["problems"], circles["correct"], circles["ungradable"]) == (3, 0, 1)
    assert summary["families"]["Geometry3k-v0/Triangle/Length"]["accuracy"] == 1.0
    csv_text = Path(out, "summary.csv").read_text()
    assert csv_text.splitlines()[0].endswith("ungradable_rate,accuracy")


@pytest.mark.parametrize("die_at", [1, 2])
def test_a_crashed_benchmark_resumes_to_the_uninterrupted_result(tmp_path, split_dir, whole, die_at):
    full_out, _, _ = whole
    cfg = config(tmp_path, split_dir)
    with pytest.raises(PolicyError):
        run_eval(cfg, policy=Student(die_at=die_at), log=lambda s: None)
    saved = records(tmp_path) if Path(tmp_path, "episodes.jsonl").exists() else {}
    assert sorted(s for _, s in saved) == list(range(3 * (die_at - 1)))  # the batches before the crash
    rest = Student()
    run_eval(cfg, policy=rest, log=lambda s: None)
    assert sorted(rest.seen) == list(range(3 * (die_at - 1), N))  # only the problems not yet done were played
    assert records(tmp_path) == records(full_out)
    assert summary_of(tmp_path) == summary_of(full_out)


def test_the_command_line_oracle_scores_one_and_prints_the_protocol(tmp_path, split_dir, capsys):
    out = tmp_path / "cli"
    argv = ["--env", "vlenvs/Geometry3k-v0", "--preset", "geometry3k_eval", "--env-kwarg", f"data_dir={split_dir}",
            "--episodes", "all", "--batch", "3", "--policy", "oracle", "--out", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "accuracy 1.0000 (7/7 problems; ungradable 0.0000) - EasyR1 protocol" in printed
    bench = summary_of(out)["benchmark"]
    assert [b["accuracy"] for b in bench.values()] == [1.0]
    assert sorted(s for _, s in records(out)) == list(range(N))
    assert main(argv) == 0  # all done: a rerun plays nothing and reports the same
    assert "batch of problems" not in capsys.readouterr().out


def test_a_slice_of_the_split_is_not_labelled_easyr1(tmp_path, split_dir):
    summary = run_eval(config(tmp_path, split_dir, episodes=3, seed=4, by_index=True), policy=Student(),
                       log=lambda s: None)
    (bench,) = summary["benchmark"].values()
    assert bench["protocol"] == "by problem index, problems 4..6 of 7" and not bench["whole_split"]
    assert bench["correct"] == 2 and sorted(s for _, s in records(tmp_path)) == [4, 5, 6]


def test_generated_problems_by_index_need_a_count(tmp_path):
    env = EnvEntry("vlenvs/Geometry3k-v0", "easy")
    with pytest.raises(InvalidConfigError, match="--episodes all: env Geometry3k-v0\\[easy\\] has no fixed problem"):
        run_eval(EvalRunConfig(envs=(env,), episodes="all", out=str(tmp_path / "a")), log=lambda s: None)
    assert not (tmp_path / "a").exists()  # refused before the output folder is made
    summary = run_eval(EvalRunConfig(envs=(env,), episodes=4, by_index=True, batch=3, viewer_episodes=0,
                                     out=str(tmp_path / "b")), log=lambda s: None)
    recs = records(tmp_path / "b")
    assert [r["turns"][0]["info"]["problem_id"].rsplit("-", 1)[1] for r in recs.values()] == ["i0", "i1", "i2", "i3"]
    (bench,) = summary["benchmark"].values()
    assert bench["accuracy"] == 1.0 and bench["split_size"] is None
    assert bench["protocol"] == "by problem index, problems 0..3 of an unbounded generator"


def test_bad_index_ranges_and_envs_without_indices_are_refused(tmp_path, split_dir):
    with pytest.raises(InvalidConfigError, match="last problem index\\) 7; expected 0..6 \\(7 problems"):
        run_eval(config(tmp_path, split_dir, episodes=8, by_index=True), log=lambda s: None)
    with pytest.raises(InvalidConfigError, match="first problem index\\) 7"):
        run_eval(config(tmp_path, split_dir, seed=7), log=lambda s: None)
    with pytest.raises(InvalidConfigError, match="reset option 'index'"):
        run_eval(EvalRunConfig(envs=(EnvEntry("vlenvs/Maze2D-v0", "easy"),), episodes="all", out=str(tmp_path)),
                 log=lambda s: None)
    with pytest.raises(InvalidConfigError, match="episodes"):
        EvalRunConfig(envs=(EnvEntry("vlenvs/Maze2D-v0"),), episodes="most")
    with pytest.raises(SystemExit):
        main(["--env", "vlenvs/Maze2D-v0", "--episodes", "lots"])


def test_by_index_is_part_of_the_run_identity(tmp_path, split_dir):
    from vlenvs_train.evaluation.config import ResumeMismatchError

    plain = EvalRunConfig(envs=(EnvEntry("vlenvs/Geometry3k-v0", "easy"),), episodes=2, out=str(tmp_path),
                          policy=PolicyConfig("oracle"), viewer_episodes=0)
    assert "by-index" not in plain.identity()
    run_eval(plain, log=lambda s: None)
    with pytest.raises(ResumeMismatchError, match="--by-index None, but this run has --by-index True"):
        run_eval(EvalRunConfig(envs=plain.envs, episodes=2, by_index=True, out=str(tmp_path)), log=lambda s: None)


def test_the_split_is_loaded_once_per_batch_size_not_per_batch(tmp_path, split_dir, monkeypatch):
    import vlenvs_train.evaluation.play as play

    built = []
    real = play.env_factory

    def counting(entry, by_index=False):
        factory = real(entry, by_index)
        built.append(by_index)
        return factory

    monkeypatch.setattr(play, "env_factory", counting)
    run_eval(config(tmp_path, split_dir, batch=2), policy=Student(), log=lambda s: None)
    assert len(built) == 3 and all(built)  # the check, then batches of 2 (three of them) and of 1
