"""The Tinker API's wire formats, decoded into plain records and encoded back.

The ``tinker`` SDK (0.38) sends ``forward_backward`` as protobuf (``tinker_public.ForwardBackwardRequest``) and
wants the results of ``forward_backward`` and ``sample`` back as protobuf; everything else is JSON. The message
classes are the SDK's own generated module (``tinker.proto.tinker_public_pb2``), so the schema cannot drift from
the client's. Nothing here touches a model: requests become :class:`Datum` / chunk lists, results become bytes.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vlenvs.core.errors import RequestError

#: Image formats an image chunk may carry.
IMAGE_FORMATS = ("png", "jpeg")


def proto() -> Any:
    """The SDK's generated protobuf module (``pip install 'vlenvs[tinker]'``)."""
    try:
        from tinker.proto import tinker_public_pb2
    except ImportError as e:  # pragma: no cover - the extra is missing
        raise RequestError("the Tinker-API service needs the `tinker` package (pip install 'vlenvs[tinker]')") from e
    return tinker_public_pb2


@dataclass(frozen=True)
class ImagePart:
    """One image chunk of a model input: the encoded image and how many tokens the client expects it to take."""

    data: bytes
    format: str
    expected_tokens: int | None = None


#: A model input is a list of chunks: token ids (``int64`` arrays) and images.
Chunk = np.ndarray | ImagePart


@dataclass
class Datum:
    """One training example: its model input and its loss inputs (``target_tokens``, ``weights``, ...)."""

    chunks: list[Chunk]
    inputs: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class ForwardBackwardRequest:
    model_id: str
    seq_id: int
    loss_fn: str
    config: dict[str, float]
    forward_only: bool
    data: list[Datum]


def image_part(data: bytes, fmt: str, expected_tokens: int | None) -> ImagePart:
    if fmt not in IMAGE_FORMATS:
        raise RequestError(f"invalid image chunk format {fmt!r}; valid choices: {', '.join(IMAGE_FORMATS)}")
    return ImagePart(bytes(data), fmt, expected_tokens)


def _dense(buffer: bytes, dtype: int, shape: Sequence[int], pb: Any, what: str) -> np.ndarray:
    dtypes = {pb.DTYPE_FLOAT32: np.float32, pb.DTYPE_INT64: np.int64, pb.DTYPE_INT32: np.int32}
    if dtype not in dtypes:
        names = {v.number: v.name for v in pb.DType.DESCRIPTOR.values}
        raise RequestError(f"{what}: unsupported tensor dtype {names.get(dtype, dtype)}; valid choices: "
                           "DTYPE_FLOAT32, DTYPE_INT64, DTYPE_INT32")
    item = np.dtype(dtypes[dtype]).itemsize
    if len(buffer) % item:
        raise RequestError(f"{what}: {len(buffer)} bytes is not a whole number of {np.dtype(dtypes[dtype]).name}")
    arr = np.frombuffer(buffer, dtype=dtypes[dtype]).copy()
    if shape and int(np.prod(shape)) != arr.size:
        raise RequestError(f"{what}: shape {list(shape)} does not hold {arr.size} values")
    return arr.reshape(list(shape)) if shape else arr


def decode_tensor(tensor: Any, pb: Any, what: str) -> np.ndarray:
    if tensor.WhichOneof("encoding") != "dense":
        raise RequestError(f"{what}: only dense tensors are supported (got {tensor.WhichOneof('encoding')})")
    return _dense(tensor.dense, tensor.dtype, list(tensor.shape), pb, what)


def decode_chunks_proto(chunks: Sequence[Any], what: str) -> list[Chunk]:
    out: list[Chunk] = []
    for k, chunk in enumerate(chunks):
        kind = chunk.WhichOneof("chunk")
        if kind == "encoded_text":
            if len(chunk.encoded_text.tokens) % 4:
                raise RequestError(f"{what} chunk {k}: token bytes are not int32")
            out.append(np.frombuffer(chunk.encoded_text.tokens, dtype="<i4").astype(np.int64))
        elif kind == "image":
            img = chunk.image
            out.append(image_part(img.data, img.format,
                                  img.expected_tokens if img.HasField("expected_tokens") else None))
        else:
            raise RequestError(f"{what} chunk {k}: unsupported chunk type {kind!r}; valid choices: encoded_text, image")
    return out


def decode_chunks_json(model_input: Mapping[str, Any], what: str) -> list[Chunk]:
    chunks = model_input.get("chunks") if isinstance(model_input, Mapping) else None
    if not isinstance(chunks, list):
        raise RequestError(f"{what}: expected {{'chunks': [...]}}, got {type(model_input).__name__}")
    out: list[Chunk] = []
    for k, chunk in enumerate(chunks):
        kind = chunk.get("type") if isinstance(chunk, Mapping) else None
        if kind == "encoded_text":
            tokens = chunk.get("tokens")
            if not isinstance(tokens, list) or not all(isinstance(t, int) and not isinstance(t, bool) for t in tokens):
                raise RequestError(f"{what} chunk {k}: tokens must be a list of integers")
            out.append(np.asarray(tokens, dtype=np.int64))
        elif kind == "image":
            try:
                data = base64.b64decode(chunk.get("data", ""), validate=True)
            except (binascii.Error, TypeError, ValueError):
                raise RequestError(f"{what} chunk {k}: image data is not base64") from None
            out.append(image_part(data, chunk.get("format"), chunk.get("expected_tokens")))
        else:
            raise RequestError(f"{what} chunk {k}: unsupported chunk type {kind!r}; valid choices: encoded_text, "
                               "image (image_asset_pointer and dmel are not supported by this service)")
    return out


def decode_forward_backward(raw: bytes) -> ForwardBackwardRequest:
    """A ``forward_backward`` request body (protobuf)."""
    pb = proto()
    msg = pb.ForwardBackwardRequest()
    try:
        msg.ParseFromString(raw)
    except Exception as e:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise RequestError(f"forward_backward: the body is not a ForwardBackwardRequest protobuf ({e})") from None
    config = dict(msg.loss_fn_config)
    for key, value in msg.loss_fn_config_v2.items():
        if value.WhichOneof("value") == "number":
            config[key] = value.number
        else:
            raise RequestError(f"forward_backward: loss_fn_config[{key!r}] must be a number, got {value.text!r}")
    data = []
    for i, d in enumerate(msg.data):
        what = f"forward_backward datum {i}"
        data.append(Datum(decode_chunks_proto(d.model_input, what),
                          {k: decode_tensor(v, pb, f"{what} loss_fn_inputs[{k!r}]") for k, v in d.loss_fn_inputs.items()}))
    return ForwardBackwardRequest(msg.model_id, int(msg.seq_id), msg.loss_fn, config, bool(msg.forward_only), data)


def _batched(arrays: Sequence[np.ndarray], pb: Any) -> Any:
    arrays = [np.ascontiguousarray(a, dtype=np.float32).reshape(-1) for a in arrays]
    offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum([a.nbytes for a in arrays], out=offsets[1:])
    return pb.BatchedTensor(data=b"".join(a.tobytes() for a in arrays), offsets=offsets.tobytes(),
                            dtype=pb.DTYPE_FLOAT32)


def encode_forward_backward(outputs: Mapping[str, Sequence[np.ndarray]], metrics: Mapping[str, float]) -> bytes:
    """A ``ForwardBackwardOutput``: per-datum float arrays (``logprobs``, ``elementwise_loss``) and metrics
    (keys ``name:reduction``, as the SDK merges them)."""
    pb = proto()
    out = pb.ForwardBackwardOutput(loss_fn_output_type="ArrayRecord")
    for key, value in metrics.items():
        assert key.count(":") == 1, key
        out.metrics[key] = float(value)
    record = out.loss_fn_outputs.add()
    record.num_datums = len(next(iter(outputs.values()))) if outputs else 0
    for name, arrays in outputs.items():
        record.fields[name].CopyFrom(_batched(arrays, pb))
    return out.SerializeToString()


@dataclass
class SampledSequence:
    tokens: np.ndarray
    logprobs: np.ndarray
    stopped: bool


def encode_sample(sequences: Sequence[SampledSequence], prompt_logprobs: np.ndarray | None = None) -> bytes:
    """A ``SampleResponse``: tokens (int32), their log-probs (float32), stop reasons; prompt log-probs (NaN where
    undefined) when asked."""
    pb = proto()
    out = pb.SampleResponse()
    for s in sequences:
        out.sequences.append(pb.SampledSequence(
            stop_reason=pb.STOP_REASON_STOP if s.stopped else pb.STOP_REASON_LENGTH,
            tokens=np.asarray(s.tokens, dtype="<i4").tobytes(), logprobs=np.asarray(s.logprobs, dtype="<f4").tobytes()))
    if prompt_logprobs is not None:
        out.prompt_logprobs = np.asarray(prompt_logprobs, dtype="<f4").tobytes()
    return out.SerializeToString()
