"""Env workers: the same results inline and in a process (images through shared memory), typed errors,
death detection and replacement."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from vlenvs.core.errors import InvalidActionError, InvalidConfigError
from vlenvs_train.rollout.workers import (
    EnvFactory,
    InlineWorker,
    ProcessWorker,
    ShardView,
    WorkerDiedError,
    WorkerPool,
    WorkerSettings,
    start_worker,
)

MAZE = EnvFactory("vlenvs/Maze2D-v0", {"size": 7, "image_size": 32})


@pytest.fixture(scope="module")
def process_worker():
    worker = ProcessWorker(0)
    yield worker
    worker.close()


def assert_same_info(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


def test_process_worker_matches_inline_and_sends_images_through_shared_memory(process_worker):
    inline = InlineWorker(0)
    info_a, info_b = inline.call("open", 3, MAZE, 4), process_worker.call("open", 3, MAZE, 4)
    assert info_a == info_b and info_a.num_envs == 4 and info_a.action_names[:2] == ("up", "down")
    assert 3 in process_worker.shm  # the image batch goes through a shared block, not the pipe
    for a, b in zip(inline.call("reset", 3, [5, 6, 7, 8], None), process_worker.call("reset", 3, [5, 6, 7, 8], None)):
        if isinstance(a, dict) and "image" in a:
            np.testing.assert_array_equal(a["image"], b["image"])
            assert a["instruction"] == b["instruction"] and b["image"].flags.writeable
        else:
            assert_same_info(a, b)
    rng = np.random.default_rng(0)
    for _ in range(12):
        actions = rng.integers(0, 4, size=4)
        obs_a, *rest_a, info_a = inline.call("step", 3, actions)
        obs_b, *rest_b, info_b = process_worker.call("step", 3, actions)
        np.testing.assert_array_equal(obs_a["image"], obs_b["image"])
        for x, y in zip(rest_a, rest_b):
            np.testing.assert_array_equal(x, y)
        assert_same_info(info_a, info_b)
    assert process_worker.pid() != os.getpid()


def test_reopening_a_shard_with_another_size_resizes_its_image_block(process_worker):
    process_worker.call("open", 5, MAZE, 2)
    assert process_worker.call("reset", 5, 0, None)[0]["image"].shape == (2, 32, 32, 3)
    process_worker.call("open", 5, MAZE, 5)
    assert process_worker.call("reset", 5, 0, None)[0]["image"].shape == (5, 32, 32, 3)
    obs, reward, *_ = process_worker.call("step", 5, np.zeros(5, dtype=np.int64))
    assert obs["image"].shape == (5, 32, 32, 3) and reward.shape == (5,)


def test_env_errors_come_back_as_themselves_with_the_worker_traceback(process_worker):
    process_worker.call("open", 1, MAZE, 2)
    process_worker.call("reset", 1, 0, None)
    with pytest.raises(InvalidActionError) as err:
        process_worker.call("step", 1, np.array([0, 99]))
    assert any("in the env worker" in note for note in getattr(err.value, "__notes__", []))
    with pytest.raises(InvalidConfigError, match="invalid shard 42"):
        process_worker.call("step", 42, np.zeros(2, dtype=np.int64))
    with pytest.raises(InvalidConfigError, match="invalid Maze2DConfig argument 'colour'"):
        process_worker.call("open", 2, EnvFactory("vlenvs/Maze2D-v0", {"colour": 1}), 2)
    assert process_worker.call("step", 1, np.zeros(2, dtype=np.int64))[1].shape == (2,)  # still alive


def test_a_killed_worker_reads_as_dead():
    worker = ProcessWorker(7)
    try:
        worker.call("open", 0, MAZE, 2)
        os.kill(worker.pid(), signal.SIGKILL)
        with pytest.raises(WorkerDiedError, match=r"process worker 7 \(pid \d+\) (died|is gone)"):
            worker.call("reset", 0, 0, None)
    finally:
        worker.kill()


def test_a_worker_that_does_not_answer_in_time_is_killed():
    worker = ProcessWorker(0, timeout_s=0.2)
    os.kill(worker.process.pid, signal.SIGSTOP)  # a hung worker, deterministically (no race with a fast reply)
    with pytest.raises(WorkerDiedError, match="did not answer 'open' within"):
        worker.call("open", 0, MAZE, 2)
    worker.process.join(5)
    assert not worker.process.is_alive()
    worker.kill()


def test_pool_replaces_a_dead_worker_once_and_refuses_stale_calls():
    pool = WorkerPool(WorkerSettings("process"), 2)
    try:
        pool.call(0, 0, "open", 0, MAZE, 2)
        old_pid = pool.pids()[0]
        os.kill(old_pid, signal.SIGKILL)
        with pytest.raises(WorkerDiedError):
            pool.call(0, 0, "reset", 0, 0, None)
        assert pool.replace(0, 0, "killed by the test") == 1
        assert pool.replace(0, 0, "noticed late by another shard") == 1  # already replaced: not again
        assert pool.restarts == 1 and len(pool.events) == 1 and "killed by the test" in pool.events[0]
        with pytest.raises(WorkerDiedError, match="was replaced"):
            pool.call(0, 0, "reset", 0, 0, None)
        pool.call(0, 1, "open", 0, MAZE, 2)
        assert pool.call(0, 1, "reset", 0, 0, None)[0]["image"].shape == (2, 32, 32, 3)
        assert pool.pids()[0] != old_pid
    finally:
        pool.close()


def test_backend_and_start_method_are_validated():
    with pytest.raises(InvalidConfigError, match="invalid backend 'slurm'.*'inline', 'process', 'ray'"):
        start_worker(WorkerSettings("slurm"), 0)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="invalid start_method 'fork'.*'forkserver', 'spawn'"):
        ProcessWorker(0, start_method="fork")


def test_shard_view_is_enough_for_the_agent():
    from vlenvs_train.adapter.agent import BatchedAgent
    from vlenvs_train.policies.oracle import OraclePolicy

    info = InlineWorker(0).call("open", 0, EnvFactory("vlenvs/GridWorld3D-v0", {"image_size": 32}, "easy"), 3)
    agent = BatchedAgent(OraclePolicy(), ShardView(info))
    env = EnvFactory("vlenvs/GridWorld3D-v0", {"image_size": 32}, "easy").make(3)
    direct = BatchedAgent(OraclePolicy(), env)
    assert agent.num_envs == 3 and agent.action_names == direct.action_names == ("turn_left", "turn_right",
                                                                                   "forward", "done")
    assert agent.spec == direct.spec and agent.system == direct.system
    assert info.episode_limit > 1 and info.autoreset_mode == "NextStep"


def test_a_script_without_a_main_guard_fails_fast_with_the_hint(tmp_path):
    """Worker processes import the main module: without the guard they die at start, every replacement too."""
    import subprocess
    import sys

    script = tmp_path / "no_guard.py"
    script.write_text(
        "from vlenvs_train.policies.oracle import OraclePolicy\n"
        "from vlenvs_train.rollout import EnvFactory, PipelineConfig, RolloutPipeline\n"
        "pipe = RolloutPipeline(EnvFactory('vlenvs/Maze2D-v0', {'size': 5, 'image_size': 16}), OraclePolicy(),\n"
        "                       config=PipelineConfig('process', num_workers=1, start_method='spawn'))\n"
        "pipe.play_seeds([0, 1])\n"
        "print('finished')\n")
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode != 0 and "finished" not in proc.stdout
    assert "WorkerStartError" in proc.stderr and "__main__" in proc.stderr
    assert proc.stderr.count("replaced") == 0  # not retried max_worker_restarts times
