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
    (["run", "--root", "x"], "--root does nothing for 'run'; it applies to: tinker-serve"),
    (["sft", "--model", "x"], "--model does nothing for 'sft'"),
    (["tinker-serve", "extra=1"], "tinker-serve takes no positional arguments"),
    (["tinker-serve", "--model", "no/such/folder"], "is neither a model folder nor a bundled recipe"),
])
def test_flags_a_command_would_ignore_are_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_recipes_without_flags_still_lists(capsys):
    assert main(["recipes"]) == 0
    assert "maze2d_tiny_cpu" in capsys.readouterr().out.split()
