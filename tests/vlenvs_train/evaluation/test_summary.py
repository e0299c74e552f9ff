"""Summary metrics: pooled correctly over envs and families, and the same in JSON, CSV and the table."""

from __future__ import annotations

import csv
import io
import json

from hypothesis import given
from hypothesis import strategies as st

from vlenvs_train.evaluation.summary import EASYR1, benchmark, metrics, summarize, to_csv, to_table

record = st.builds(lambda env, fam, success, ret, length, invalid: {
    "env": f"E{env}", "family": f"F{fam}", "success": success, "return": ret, "length": length,
    "invalid": min(invalid, length)},
    st.integers(0, 3), st.integers(0, 1), st.booleans(), st.floats(-5, 5), st.integers(1, 20), st.integers(0, 20))


@given(st.lists(record, min_size=1, max_size=30))
def test_families_and_all_pool_the_episodes_of_their_envs(recs):
    s = summarize(recs, env_order=["E3", "E0"])
    first = [k for k in ("E3", "E0") if k in s["envs"]]
    assert list(s["envs"])[:len(first)] == first and list(s["envs"])[len(first):] == sorted(set(s["envs"]) - {"E3", "E0"})
    for group in ("envs", "families"):
        assert sum(m["episodes"] for m in s[group].values()) == len(recs) == s["all"]["episodes"]
        wins = sum(m["success_rate"] * m["episodes"] for m in s[group].values())
        assert abs(wins - sum(r["success"] for r in recs)) < 1e-9
        turns = sum(m["mean_length"] * m["episodes"] for m in s[group].values())
        assert abs(sum(m["invalid_rate"] * m["mean_length"] * m["episodes"] for m in s[group].values())
                   - sum(r["invalid"] for r in recs)) < 1e-6 * max(1.0, turns)
    assert 0 <= s["all"]["invalid_rate"] <= 1
    rows = list(csv.DictReader(io.StringIO(to_csv(s))))
    assert len(rows) == len(s["envs"]) + len(s["families"]) + 1 == len(to_table(s).splitlines()) - 2
    assert float(rows[-1]["success_rate"]) == s["all"]["success_rate"]


def test_invalid_rate_is_per_reply_not_per_episode():
    m = metrics([{"success": True, "return": 1.0, "length": 1, "invalid": 1},
                 {"success": False, "return": 0.0, "length": 9, "invalid": 0}])
    assert m == {"episodes": 2, "success_rate": 0.5, "mean_return": 0.5, "invalid_rate": 0.1, "mean_length": 5.0,
                 "ungradable_rate": 0.0, "accuracy": None}  # no turn was graded as an answer
    assert metrics([])["episodes"] == 0


def turn(success=False, ungradable=False):
    return {"info": {"success": success, "ungradable": ungradable, "grade_method": "exact"}}


def test_accuracy_counts_first_replies_and_ungradable_is_per_reply():
    won_late = {"success": True, "return": 1.0, "length": 2, "invalid": 0,
                "turns": [turn(ungradable=True), turn(success=True)]}
    won_first = {"success": True, "return": 1.0, "length": 1, "invalid": 0, "turns": [turn(success=True)]}
    m = metrics([won_late, won_first])
    assert m["success_rate"] == 1.0 and m["accuracy"] == 0.5  # a second attempt's win is not first-reply accuracy
    assert m["ungradable_rate"] == 1 / 3


def test_benchmark_is_labelled_easyr1_only_for_the_whole_split():
    recs = [{"env": "G", "seed": k, "family": "F" + "ab"[k % 2], "turns": [turn(success=k < 2, ungradable=k == 3)]}
            for k in range(4)]
    whole = benchmark(recs, [0, 1, 2, 3], 4)
    assert whole["protocol"] == EASYR1 and whole["whole_split"]
    assert (whole["problems"], whole["correct"], whole["accuracy"], whole["ungradable"]) == (4, 2, 0.5, 1)
    assert whole["families"] == {"Fa": {"problems": 2, "correct": 1, "accuracy": 0.5, "ungradable": 0,
                                        "ungradable_rate": 0.0},
                                 "Fb": {"problems": 2, "correct": 1, "accuracy": 0.5, "ungradable": 1,
                                        "ungradable_rate": 0.5}}
    part = benchmark(recs[:3], [0, 1, 2], 4)
    assert not part["whole_split"] and part["protocol"] == "by problem index, problems 0..2 of 4"
    assert benchmark(recs, [0, 1, 2, 3], None)["protocol"].endswith("of an unbounded generator")


def test_accuracy_only_for_answer_graded_envs_in_json_csv_and_table():
    """Maze2D has no graded answer: its accuracy is blank, not 0.000 next to success 1.000 (issue 13 review)."""
    maze = {"env": "vlenvs/Maze2D-v0", "family": "Maze2D-v0", "success": True, "return": 1.0, "length": 3,
            "invalid": 0, "turns": [{"info": {"success": False}}] * 2 + [{"info": {"success": True}}]}
    geo = {"env": "vlenvs/Geometry3k-v0", "family": "Geometry3k-v0", "success": True, "return": 1.0, "length": 1,
           "invalid": 0, "turns": [turn(success=True)]}
    geo_wrong = {**geo, "success": False, "return": 0.0, "turns": [turn()]}
    s = summarize([maze, maze, geo, geo_wrong])
    assert s["envs"]["vlenvs/Maze2D-v0"]["accuracy"] is None and s["envs"]["vlenvs/Maze2D-v0"]["success_rate"] == 1.0
    assert s["envs"]["vlenvs/Geometry3k-v0"]["accuracy"] == 0.5
    assert s["all"]["accuracy"] == 0.5  # over the graded episodes only
    assert json.loads(json.dumps(s))["families"]["Maze2D-v0"]["accuracy"] is None
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(to_csv(s)))}
    assert rows["vlenvs/Maze2D-v0"]["accuracy"] == "" and float(rows["vlenvs/Geometry3k-v0"]["accuracy"]) == 0.5
    table = {line.split()[1]: line for line in to_table(s).splitlines()[2:]}
    assert table["vlenvs/Maze2D-v0"].split()[-1] == "0.000" and len(table["vlenvs/Maze2D-v0"].split()) == 8
    assert table["vlenvs/Geometry3k-v0"].split()[-1] == "0.500" and len(table["vlenvs/Geometry3k-v0"].split()) == 9
