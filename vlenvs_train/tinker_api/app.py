"""The Tinker REST routes (``/api/v1/...``, as the ``tinker`` 0.38 SDK calls them) on a FastAPI app.

Errors a request carries get HTTP 400 with ``{"detail": message}`` (the SDK raises ``BadRequestError`` with the
message, without retrying); a job that fails later is reported by ``retrieve_future`` as
``{"error": message, "category": "user"}`` (the SDK raises ``RequestFailedError``). ``retrieve_future`` holds a
poll up to ``poll_seconds`` and answers 408 while the job runs (the SDK re-polls at once).
"""

from __future__ import annotations

import asyncio
import traceback
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from vlenvs.core.errors import RequestError
from vlenvs_train.tinker_api.models import sample_spec
from vlenvs_train.tinker_api.service import SampleWork, TinkerService
from vlenvs_train.tinker_api.wire import decode_chunks_json, decode_forward_backward

PROTO = "application/x-protobuf"


def _get(body: Mapping[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ..., what: str = "") -> Any:
    value = body.get(key, default) if isinstance(body, Mapping) else default
    if value is ...:
        raise RequestError(f"{what}: missing field {key!r}")
    if value is not default and (not isinstance(value, kind) or isinstance(value, bool) and bool not in
                                 (kind if isinstance(kind, tuple) else (kind,))):
        raise RequestError(f"{what}: field {key!r} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def create_app(service: TinkerService) -> FastAPI:
    app = FastAPI(title="vlenvs Tinker-API service", docs_url=None, redoc_url=None)
    app.state.service = service

    @app.exception_handler(RequestError)
    async def request_error(_: Request, e: RequestError) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=400)

    async def body(request: Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except ValueError:
            raise RequestError(f"{request.url.path}: the body is not JSON") from None
        if not isinstance(data, dict):
            raise RequestError(f"{request.url.path}: the body must be a JSON object")
        return data

    def future(kind: str, fn: Any, **extra: Any) -> dict[str, Any]:
        return {"request_id": service.submit(kind, fn), **extra}

    # -------------------------------------------------------------- service and sessions
    @app.get("/api/v1/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/get_server_capabilities")
    async def capabilities() -> dict[str, Any]:
        return service.capabilities()

    @app.post("/api/v1/client/config")
    async def client_config() -> dict[str, Any]:
        return {"pjwt_auth_enabled": False, "use_pyqwest_transport": False, "proto_compress_fwdbwd": False,
                "parallel_fwdbwd_chunks": False, "sample_use_retrieve_futures": False,
                "custom_loss_server_side": False, "sample_join_sampling_session": False}

    @app.post("/api/v1/client/dynamic_config")
    async def dynamic_config() -> dict[str, Any]:
        return {}

    @app.post("/api/v1/create_session")
    async def create_session() -> dict[str, str]:
        return {"session_id": service.create_session()}

    @app.post("/api/v1/session_heartbeat")
    async def heartbeat(request: Request) -> dict[str, Any]:
        service.session((await body(request)).get("session_id"))
        return {}

    @app.post("/api/v1/sessions/{session_id}/finish")
    async def finish(session_id: str) -> dict[str, Any]:
        service.finish_session(session_id)
        return {}

    @app.post("/api/v1/telemetry")
    async def telemetry() -> dict[str, str]:
        return {"status": "accepted"}  # nothing is recorded

    # -------------------------------------------------------------- training
    @app.post("/api/v1/create_model")
    async def create_model(request: Request) -> dict[str, Any]:
        b = await body(request)
        what = "create_model"
        opt = _get(b, "optimizer_config", dict, None, what)
        if opt is not None and opt.get("type", "adamw") != "adamw":
            raise RequestError(f"create_model: optimizer {opt.get('type')!r} is not supported; valid choices: adamw")
        mid = service.create_model(_get(b, "session_id", str, what=what), _get(b, "model_seq_id", int, what=what),
                                   _get(b, "base_model", str, what=what), _get(b, "lora_config", dict, None, what))
        return future("json", lambda: service.load_model(mid), model_id=mid)

    @app.post("/api/v1/get_info")
    async def get_info(request: Request) -> dict[str, Any]:
        return service.info((await body(request)).get("model_id"))

    @app.post("/api/v1/forward_backward")
    async def forward_backward(request: Request) -> dict[str, Any]:
        if request.headers.get("content-encoding"):
            raise RequestError(f"forward_backward: Content-Encoding {request.headers['content-encoding']!r} is not "
                               "supported (this service asks clients not to compress)")
        if PROTO not in request.headers.get("content-type", ""):
            raise RequestError(f"forward_backward: expected a {PROTO} body")
        fb = decode_forward_backward(await request.body())
        service.model(fb.model_id)
        return future("proto", lambda: service.forward_backward(fb), model_id=fb.model_id)

    @app.post("/api/v1/optim_step")
    async def optim_step(request: Request) -> dict[str, Any]:
        b = await body(request)
        mid = _get(b, "model_id", str, what="optim_step")
        service.model(mid)
        if "optimizer_params" in b:
            kind = b["optimizer_params"].get("type") if isinstance(b["optimizer_params"], dict) else None
            raise RequestError(f"optim_step: optimizer {kind!r} is not supported; valid choices: adam (AdamParams)")
        adam = _get(b, "adam_params", dict, None, "optim_step") or _get(b, "optim_params", dict, {}, "optim_step")
        return future("json", lambda: {"metrics": service.model(mid).optim_step(adam)}, model_id=mid)

    @app.post("/api/v1/save_weights")
    async def save_weights(request: Request) -> dict[str, Any]:
        b = await body(request)
        mid = _get(b, "model_id", str, what="save_weights")
        service.model(mid)
        path = service.new_path(mid, "weights", b.get("path") or f"state-{uuid.uuid4().hex[:8]}")
        overwrite = bool(b.get("overwrite", False))
        return future("json", lambda: service.save_state(mid, path, overwrite), model_id=mid)

    @app.post("/api/v1/load_weights")
    async def load_weights(request: Request) -> dict[str, Any]:
        b = await body(request)
        path = _get(b, "path", str, what="load_weights")
        service.folder(path, "weights")
        optimizer = bool(b.get("optimizer", False))
        mid = b.get("model_id")
        if mid is None:  # create_training_client_from_state: a new model from the saved state
            base = b.get("base_model") or service.config.model
            mid = service.create_model(_get(b, "session_id", str, what="load_weights"),
                                       _get(b, "model_seq_id", int, what="load_weights"), base, None)
        else:
            service.model(mid)
        return future("json", lambda: service.load_state(mid, path, optimizer), model_id=mid)

    @app.post("/api/v1/save_weights_for_sampler")
    async def save_for_sampler(request: Request) -> dict[str, Any]:
        b = await body(request)
        mid = _get(b, "model_id", str, what="save_weights_for_sampler")
        service.model(mid)
        if b.get("path"):
            path = service.new_path(mid, "sampler_weights", b["path"])
            return future("json", lambda: service.save_for_sampler(mid, path), model_id=mid)
        seq = _get(b, "sampling_session_seq_id", int, what="save_weights_for_sampler")
        sid = mid.split(":train:")[0]
        service.session(sid)
        return future("json", lambda: service.snapshot_sampler(mid, sid, seq), model_id=mid)

    # -------------------------------------------------------------- sampling
    @app.post("/api/v1/create_sampling_session")
    async def create_sampling_session(request: Request) -> dict[str, str]:
        b = await body(request)
        what = "create_sampling_session"
        sid = service.create_sampling_session(_get(b, "session_id", str, what=what),
                                              _get(b, "sampling_session_seq_id", int, what=what),
                                              _get(b, "model_path", str, None, what), _get(b, "base_model", str, None, what))
        return {"sampling_session_id": sid}

    @app.get("/api/v1/samplers/{sampler_id}")
    async def get_sampler(sampler_id: str) -> dict[str, Any]:
        key = service.sampler_key(sampler_id)
        return {"sampler_id": sampler_id, "base_model": service.config.model,
                "model_path": key if key.startswith("tinker://") else None}

    @app.post("/api/v1/asample")
    async def asample(request: Request) -> dict[str, Any]:
        b = await body(request)
        what = "sample"
        unsupported = {k: b[k] for k in ("topk_prompt_logprobs", "topk_sample_logprobs", "prompt_alt_tokens_k")
                       if b.get(k)}
        for key in ("target_prompt_logprobs", "prompt_logprobs_last_n"):
            if b.get(key) is not None:
                unsupported[key] = "set"
        if unsupported:
            raise RequestError(f"sample: {sorted(unsupported)} are not supported by this service (supported: "
                               "num_samples, sampling_params, prompt_logprobs)")
        if b.get("sampling_session_id") is not None:
            key = service.sampler_key(b["sampling_session_id"])
        elif b.get("model_path") is not None:
            service.folder(b["model_path"], "sampler_weights")
            key = b["model_path"]
        else:
            service.check_base_model(b.get("base_model"))
            key = "base"
        chunks = decode_chunks_json(_get(b, "prompt", dict, what=what), "prompt")
        n = _get(b, "num_samples", int, 1, what)
        if not 1 <= n <= service.config.max_samples:
            raise RequestError(f"sample: num_samples {n} out of range [1, {service.config.max_samples}]")
        params = _get(b, "sampling_params", dict, what=what)
        spec = sample_spec(params, service.config.max_tokens)
        seed = params.get("seed")
        if seed is None:
            seed = service.draw_seed()
        elif not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**63:
            raise RequestError(f"sample: seed {seed!r} must be an integer in [0, 2**63)")
        prompt_logprobs = bool(b.get("prompt_logprobs") or False)
        work = SampleWork(key, chunks, n, spec, seed, prompt_logprobs)
        return {"request_id": service.submit("proto", sample=work),
                "sample_sequence_ids": [f"seq-{uuid.uuid4().hex[:12]}" for _ in range(n)]}

    # -------------------------------------------------------------- futures
    @app.post("/api/v1/retrieve_future")
    async def retrieve_future(request: Request) -> Any:
        job = service.job((await body(request)).get("request_id"))
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(job.future)), service.config.poll_seconds)
        except asyncio.TimeoutError:
            return JSONResponse({"detail": "still running"}, status_code=408)
        except RequestError as e:
            job.retrieved = True
            return {"error": str(e), "category": "user"}
        except Exception as e:  # noqa: BLE001 - reported to the client, with the traceback in the server log
            traceback.print_exception(e)
            job.retrieved = True
            return {"error": f"{type(e).__name__}: {e}", "category": "server"}
        job.retrieved = True
        result = job.future.result()
        if job.kind == "proto":
            return Response(result, media_type=PROTO)
        return result

    return app


def serve(service: TinkerService) -> None:
    """Run the service's app with uvicorn on ``config.host:config.port`` until interrupted."""
    import uvicorn

    uvicorn.run(create_app(service), host=service.config.host, port=service.config.port, log_level="warning")
