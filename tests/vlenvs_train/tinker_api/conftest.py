"""A Tinker-API service over the tiny VLM on 127.0.0.1 (one per test module), and the official SDK's client."""

from __future__ import annotations

import socket
import threading
import time

import pytest


@pytest.fixture(scope="module")
def tinker_service(tiny_model_path, tmp_path_factory, monkeypatch_module):
    pytest.importorskip("tinker")
    uvicorn = pytest.importorskip("uvicorn")
    import torch

    from vlenvs_train.tinker_api.app import create_app
    from vlenvs_train.tinker_api.config import TinkerServiceConfig
    from vlenvs_train.tinker_api.service import TinkerService

    torch.set_num_threads(1)
    monkeypatch_module.setenv("TINKER_TELEMETRY", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = TinkerService(TinkerServiceConfig(model=str(tiny_model_path), root=str(tmp_path_factory.mktemp("tk")),
                                                port=port, poll_seconds=5.0))
    server = uvicorn.Server(uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.02)
    yield service, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    service.close()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def service_client(tinker_service):
    import tinker

    return tinker.ServiceClient(base_url=tinker_service[1], api_key="tml-vlenvs-test")
