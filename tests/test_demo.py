"""The envs' demo (the README's main job until the trainer lands)."""

from PIL import Image

from vlenvs.demo import main, run_policy


def test_oracle_is_perfect_and_random_is_not():
    oracle = run_policy("vlenvs/Maze2D-v0", 16, 2, "oracle", 0, image_size=16, size=7)
    random = run_policy("vlenvs/Maze2D-v0", 16, 2, "random", 0, image_size=16, size=7)
    assert oracle["success"] == 1.0 and oracle["return"] == 1.0
    assert random["success"] < 1.0 and random["length"] > oracle["length"]


def test_demo_writes_its_outputs(tmp_path, capsys):
    main(["--num-envs", "8", "--episodes-per-env", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert "oracle: success 1.000" in out
    gif = Image.open(tmp_path / "oracle.gif")
    assert gif.n_frames > 3
    assert Image.open(tmp_path / "observations.png").size[1] > 128
