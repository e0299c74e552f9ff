"""Command-line flags that a command would ignore are typed errors (exit 2), named with the commands they serve."""

from __future__ import annotations

import pytest

from vlenvs_train.cli import main


@pytest.mark.parametrize("argv, message", [
    (["recipes", "--resume"], "--resume does nothing for 'recipes'"),
    (["export", "a", "b", "--overwrite"], "--overwrite does nothing for 'export'"),
    (["run", "--checkpoint", "x"], "--checkpoint does nothing for 'run'"),
    (["sft", "--policy", "oracle"], "--policy does nothing for 'sft'"),
    (["run", "--allow-config-change"], "--allow-config-change applies to --resume only"),
])
def test_flags_a_command_would_ignore_are_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_recipes_without_flags_still_lists(capsys):
    assert main(["recipes"]) == 0
    assert "maze2d_tiny_cpu" in capsys.readouterr().out.split()
