"""benchmarks/learning.py: argument parsing, the split overrides, the per-seed and min/median table (fake results),
and one tiny end-to-end run of two seeds."""

from __future__ import annotations

import dataclasses
import json

import pytest

from benchmarks import learning
from benchmarks.learning import SeedResult, markdown, parse_args, split_overrides, summary_rows, targets_line


def fake(seed, sft, final, test=None, cpu=10.0):
    return SeedResult(seed=seed, random=0.0, oracle=1.0, untrained=0.01, sft=sft, final=final,
                      sft_test=None if test is None else test - 0.1, final_test=test, cpu_min=cpu, wall_min=cpu + 1)


def test_parse_args():
    args = parse_args(["--recipe", "maze2d_9x9_tiny_cpu", "--seeds", "0", "1", "2", "grpo.iterations=3",
                       "--markdown"])
    assert args.recipe == "maze2d_9x9_tiny_cpu" and args.seeds == [0, 1, 2] and args.markdown
    assert args.overrides == ["grpo.iterations=3"]
    args = parse_args(["sft.epochs=2", "--seeds", "5", "grpo.iterations=3"])
    assert args.seeds == [5] and args.overrides == ["sft.epochs=2", "grpo.iterations=3"]
    default = parse_args([])
    assert default.recipe == "maze2d_tiny_cpu" and default.seeds is None and not default.markdown
    for bad in (["--seeds", "1", "1"], ["--seeds", "-1"], ["--seeds", "x"], ["--seeds", "a=1"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_summary_rows_min_and_median_over_seeds():
    results = [fake(0, 0.5, 0.9, 0.7, cpu=30.0), fake(1, 0.6, 0.7, 0.5, cpu=40.0), fake(2, 0.4, 0.8, 0.6, cpu=35.0)]
    headers, rows = summary_rows(results)
    assert headers == ["seed", "random", "oracle", "untrained", "SFT only", "SFT+GRPO", "GRPO gain",
                       "SFT only, test", "SFT+GRPO, test", "CPU min", "wall min"]
    assert [r[0] for r in rows] == [0, 1, 2, "min", "median"]
    col = {h: [r[i] for r in rows] for i, h in enumerate(headers)}
    assert col["SFT+GRPO"] == [0.9, 0.7, 0.8, 0.7, 0.8]
    assert col["GRPO gain"][3:] == pytest.approx([0.1, 0.4])  # gains 0.4, 0.1, 0.4
    assert col["SFT+GRPO, test"][3:] == pytest.approx([0.5, 0.6])
    assert col["CPU min"][3:] == [30.0, 35.0]


def test_table_without_test_env_and_the_markdown_section():
    results = [fake(0, 0.5, 0.95), fake(1, 0.7, 0.9)]
    headers, _ = summary_rows(results)
    assert "SFT+GRPO, test" not in headers
    text = markdown("python benchmarks/learning.py --recipe maze2d_9x9_tiny_cpu --seeds 0 1", "setup", "ctx",
                    results, "maze2d_9x9_tiny_cpu")
    lines = text.splitlines()
    assert lines[0] == "`python benchmarks/learning.py --recipe maze2d_9x9_tiny_cpu --seeds 0 1`"
    table_lines = [ln for ln in lines if ln.startswith("|")]
    assert table_lines[0].startswith("| seed | random | oracle | untrained | SFT only | SFT+GRPO | GRPO gain |")
    assert len(table_lines) == 2 + 4  # header, rule, 2 seeds, min, median
    assert table_lines[-2].startswith("| min | 0 | 1 | 0.01 | 0.5 | 0.9 | 0.2 |")
    # gains 0.45 and 0.2 >= 0.15, finals 0.95 and 0.9 >= 0.9, 10 CPU minutes
    assert "GRPO gain >= +0.15: met" in text and "SFT+GRPO >= 0.9: met (min 0.900)" in text
    assert "NOT met" in targets_line("maze2d_9x9_tiny_cpu", [fake(0, 0.8, 0.9, cpu=50.0)])
    assert "none recorded" in targets_line("my_recipe", results)


def test_split_overrides_only_for_envs_with_a_split():
    @dataclasses.dataclass(frozen=True)
    class WithSplit:
        size: int = 9
        split: str = "all"

    @dataclasses.dataclass(frozen=True)
    class WithoutSplit:
        size: int = 9

    assert split_overrides(WithSplit(), {}, {}) == ["env.kwargs.split=train", "eval.test_kwargs={split: test}"]
    assert split_overrides(WithSplit(), {"split": "all"}, {}) == ["eval.test_kwargs={split: test}"]
    assert split_overrides(WithSplit(), {}, {"size": 7}) == []  # the recipe's own test evaluation
    assert split_overrides(WithoutSplit(), {}, {}) == [] and split_overrides(None, {}, {}) == []


def test_two_seeds_end_to_end(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    tiny = ["sft.num_episodes=4", "sft.epochs=1", "grpo.iterations=1", "grpo.groups=2", "grpo.group_size=2",
            "eval.episodes=4", "eval.every=0", "eval.batch=4", "eval.gif_episodes=0", "eval.viewer_episodes=0",
            "env.kwargs.max_steps=3", "progress=false", "tensorboard=false",
            "eval.test_kwargs={max_steps: 1}"]
    results = learning.main(["--seeds", "3", "4", "--out", str(tmp_path), *tiny])
    assert [r.seed for r in results] == [3, 4]
    assert results[0].oracle == results[1].oracle > 0  # the same held-out seeds for every seed
    for r in results:
        assert 0 <= r.final <= 1 and r.final_test is not None and r.cpu_min > 0
        assert (tmp_path / f"seed_{r.seed}" / "learning_curve.png").exists()
    out = capsys.readouterr().out
    assert "## seed 3" in out and "| median |" in out and "SFT+GRPO, test" in out
    assert (tmp_path / "curves.png").exists()
    assert [r["seed"] for r in json.loads((tmp_path / "results.json").read_text())] == [3, 4]
    if len(learning.usable_cores()) >= 2:  # --jobs: each seed in its own pinned process, the same numbers
        jobs = learning.main(["--seeds", "3", "4", "--jobs", "2", "--out", str(tmp_path / "jobs"), *tiny])
        fields = ("seed", "random", "oracle", "untrained", "sft", "final", "sft_test", "final_test")
        assert [[getattr(r, f) for f in fields] for r in jobs] == [[getattr(r, f) for f in fields] for r in results]
        assert all(r.cpu_min > 0 and r.run_dir.endswith(f"seed_{r.seed}") for r in jobs)
        assert "2 seeds at a time, each pinned to its own core" in capsys.readouterr().out
        assert (tmp_path / "jobs" / "seed_3.log").exists() and (tmp_path / "jobs" / "curves.png").exists()


def test_jobs_checks_its_arguments_before_any_run(capsys):
    for argv, message in ((["--jobs", "0", "--seeds", "1"], "--jobs must be >= 1, got 0"),
                          (["--jobs", "2"], "--jobs needs --seeds"),
                          (["--jobs", "2", "--seeds", "0", "1"], "--jobs needs --out"),
                          (["--jobs", "999", "--seeds", "0", "--out", "x"], "--jobs 999: only")):
        with pytest.raises(SystemExit):
            parse_args(argv)
        assert message in capsys.readouterr().err

