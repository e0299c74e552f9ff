"""Weight sync to servers without vLLM: the HTTP protocol against a fake server with vLLM's development endpoints,
the shared folder, the trainable policy's bookkeeping (dead server reported, brought up to date before it samples
again), and the server command's flags. The real thing runs in tests/vlenvs_train/train/test_vllm_training.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("httpx")

from vlenvs.core.errors import InvalidConfigError  # noqa: E402
from vlenvs_train.policies.base import PolicyError, SamplingConfig  # noqa: E402
from vlenvs_train.policies.openai_server import OpenAIServerPolicy, ServerConfig  # noqa: E402
from vlenvs_train.policies.server_sync import ServerWeightSync, server_root, write_weights  # noqa: E402
from vlenvs_train.policies.vllm_server import ServeConfig, free_port, serve_command  # noqa: E402


class FakeDevServer:
    """vLLM's weight endpoints as the trainer uses them; records the calls; ``loads`` = folders it loaded."""

    def __init__(self, dev_mode=True):
        self.calls, self.loads, self.version = [], [], "default"
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                owner.calls.append(self.path)
                if self.path == "/v1/models":
                    return self._send(200, {"object": "list", "data": [{"id": "m"}]})
                if self.path == "/weight_info" and dev_mode:
                    return self._send(200, {"weight_version": owner.version})
                self._send(404, {"detail": "Not Found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                owner.calls.append(self.path)
                if self.path == "/v1/chat/completions":  # a reply with token ids and log-probs, as vLLM's
                    return self._send(200, {"prompt_token_ids": [5, 6], "choices": [{
                        "message": {"content": "<answer>up</answer>"}, "token_ids": [1, 2], "finish_reason": "stop",
                        "logprobs": {"content": [{"logprob": -0.1}, {"logprob": -0.2}]}}]})
                if not dev_mode:
                    return self._send(404, {"detail": "Not Found"})
                if self.path == "/collective_rpc":
                    owner.loads.append(body["kwargs"]["weights_path"])
                    return self._send(200, {"results": [{"repacked": 1}]})
                if self.path == "/update_weight_version":
                    owner.version = body["new_version"]
                    return self._send(200, {"success": True})
                if self.path == "/reset_prefix_cache":
                    return self._send(200, {"success": True})
                self._send(200, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    server = FakeDevServer()
    yield server
    server.close()


def weights():
    return [("a.weight", torch.arange(6.0).reshape(2, 3)), ("b.bias", torch.ones(3))]


def test_write_weights_is_atomic_and_keeps_the_newest_two(tmp_path):
    from safetensors.torch import load_file

    for v in (1, 2, 3):
        folder = write_weights(weights(), tmp_path, v)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v00000002", "v00000003"] and folder.name == "v00000003"
    loaded = load_file(str(folder / "model.safetensors"))
    assert torch.equal(loaded["a.weight"], weights()[0][1]) and set(loaded) == {"a.weight", "b.bias"}
    with pytest.raises(PolicyError, match="no weights"):
        write_weights([], tmp_path, 4)
    folder = write_weights(weights(), tmp_path, 1)  # a new run in the same folder: its v1 is kept, old ones go
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v00000001"] and folder.is_dir()


def test_push_loads_resets_caches_labels_and_reads_the_version_back(tmp_path, fake):
    assert server_root(fake.url) == fake.url[:-3]
    result = ServerWeightSync().push(fake.url, tmp_path / "v1", "7")
    assert fake.loads == [str(tmp_path / "v1")] and fake.version == "7" and result["seconds"] > 0
    assert fake.calls == ["/collective_rpc", "/reset_encoder_cache", "/reset_mm_cache", "/reset_prefix_cache",
                          "/update_weight_version", "/weight_info"]


def test_a_server_without_the_dev_endpoints_is_named_with_the_fix(tmp_path):
    server = FakeDevServer(dev_mode=False)
    try:
        with pytest.raises(PolicyError, match="VLLM_SERVER_DEV_MODE=1.*vlenvs-train serve"):
            ServerWeightSync().push(server.url, tmp_path, 1)
    finally:
        server.close()


def test_policy_syncs_every_server_reports_a_dead_one_and_updates_it_when_it_is_back(tmp_path, fake):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    policy = OpenAIServerPolicy(ServerConfig(base_urls=(fake.url, dead), model="m", sync_timeout_s=2),
                                sampling=SamplingConfig(seed=0), weight_sync_dir=tmp_path)
    assert policy.update_weights(weights()) == 1 == policy.weight_version
    assert policy.weight_sync_dir.is_absolute()
    assert fake.version == policy.label(1) != "1"  # labels carry this client's id: another run's v1 is not ours
    assert policy.counters["sync_failures"] == 1 and policy.last_sync["failed"] == 1
    assert policy._served == {fake.url: 1, dead: None}  # the dead one is checked again before it samples
    fake.version = "default"  # the server restarted with its original weights
    policy._served[fake.url] = None
    policy._bring_up_to_date(fake.url)
    assert fake.version == policy.label(1) and policy.counters["resyncs"] == 1 and len(fake.loads) == 2
    state = policy.state_dict()
    assert state["weight_version"] == 1
    policy.load_state_dict({**state, "weight_version": 5})  # a resumed run: servers must be checked again
    assert policy._served == {fake.url: None, dead: None}
    only_dead = OpenAIServerPolicy(ServerConfig(base_urls=(dead,), model="m", sync_timeout_s=2),
                                   weight_sync_dir=tmp_path / "other")
    with pytest.raises(PolicyError, match="reached no server"):
        only_dead.update_weights(weights())


def test_serve_command_has_the_cpu_flags_and_the_weight_sync_hooks(tmp_path):
    argv, env = serve_command(tmp_path, ServeConfig(port=8123, served_name="tiny"))
    joined = " ".join(argv)
    for flag in ("--logprobs-mode processed_logprobs", "--dtype float32", "--enforce-eager",
                 "--no-enable-chunked-prefill", "--max-num-batched-tokens 32768", "--port 8123",
                 "--host 127.0.0.1", "--worker-extension-cls vlenvs_train.policies.vllm_worker.WeightSyncExtension"):
        assert flag in joined
    assert env["VLLM_SERVER_DEV_MODE"] == "1" and "VLLM_CPU_KVCACHE_SPACE" in env
    assert env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0"  # CPU: no busy-polling worker process
    assert env["OMP_NUM_THREADS"] == "1"  # the engine core's OpenMP threads do not spin on every core
    _, env = serve_command(tmp_path, ServeConfig(omp_threads=0))
    assert env.get("OMP_NUM_THREADS") == os.environ.get("OMP_NUM_THREADS")  # OpenMP's default
    with pytest.raises(InvalidConfigError, match="omp_threads"):
        ServeConfig(omp_threads=-1)
    _, env = serve_command(tmp_path, ServeConfig(worker_in_engine_process=False))
    assert env.get("VLLM_ENABLE_V1_MULTIPROCESSING") == os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING")
    argv, env = serve_command(tmp_path, ServeConfig(device="gpu", trainable=False))
    assert "--no-enable-chunked-prefill" not in argv and "--gpu-memory-utilization" in argv
    assert "--worker-extension-cls" not in argv and env.get("VLLM_SERVER_DEV_MODE") == os.environ.get("VLLM_SERVER_DEV_MODE")
    assert env.get("VLLM_CPU_KVCACHE_SPACE") == os.environ.get("VLLM_CPU_KVCACHE_SPACE")  # GPU: not set by us
    with pytest.raises(InvalidConfigError, match="device"):
        ServeConfig(device="tpu")
    with pytest.raises(InvalidConfigError, match="replace the weights"):  # dev endpoints are not guarded by a key
        ServeConfig(host="0.0.0.0")
    assert ServeConfig(host="0.0.0.0", trainable=False) and ServeConfig(host="10.0.0.2", allow_remote_weight_updates=True)
    with pytest.raises(InvalidConfigError, match="max_num_batched_tokens"):
        ServeConfig(max_num_batched_tokens=100)  # CPU: a prompt must fit one step (no chunked prefill)


def test_cli_serve_rejects_bad_input_before_starting_anything(tmp_path, capsys):
    from vlenvs_train.cli import main

    assert main(["serve", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["serve", "a", "b"]) == 2
    assert main(["run", "--port", "9000"]) == 2
    assert "--port does nothing for 'run'" in capsys.readouterr().err
    assert main(["run", "--omp-threads", "2"]) == 2
    assert "--omp-threads does nothing for 'run'" in capsys.readouterr().err
    assert main(["serve", "--omp-threads", "-1"]) == 2
    assert "omp_threads" in capsys.readouterr().err


def test_requests_bring_a_restarted_server_up_to_date_and_fail_over_from_a_dead_one(tmp_path, fake):
    from vlenvs_train.policies.base import PolicyRequest

    dead = f"http://127.0.0.1:{free_port()}/v1"
    policy = OpenAIServerPolicy(ServerConfig(base_urls=(fake.url, dead), model="m", max_retries=2, backoff_s=0.0,
                                             sync_timeout_s=2), weight_sync_dir=tmp_path)
    requests = [PolicyRequest([{"role": "user", "content": [{"type": "text", "text": f"go {k}"}]}]) for k in range(4)]
    outputs = policy.generate(requests)  # never synced: no label checks (any OpenAI-compatible endpoint works)
    assert "/weight_info" not in fake.calls and [o.weight_version for o in outputs] == [0] * 4
    policy.update_weights(weights())
    fake.version = "default"  # restarted with its original weights
    outputs = policy.generate(requests)
    assert [o.weight_version for o in outputs] == [1] * 4 and fake.version == policy.label(1)
    assert policy.counters["resyncs"] == 1 and policy.counters["failed_attempts"] >= 2  # the dead URL's turns


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_started_server_dies_with_the_process_that_started_it(tmp_path):
    # the parent starts a long child the way start_vllm_server does, then is SIGKILLed (no cleanup code runs)
    script = ("import os, subprocess, sys, time\n"
              "from vlenvs_train.policies.vllm_server import exit_with_parent\n"
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True,"
              " preexec_fn=exit_with_parent(os.getpid()))\n"
              "print(p.pid, flush=True)\ntime.sleep(120)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    assert _alive(child)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the child outlived its SIGKILLed parent"


def _alive(pid: int) -> bool:
    """Running (not gone, not a zombie that nobody reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
