"""Supervised fine-tuning data: oracle demonstrations or JSONL chat conversations, as sampler-shaped records.

An SFT example is a :class:`~vlenvs_train.policies.base.PolicyOutput`: the prompt tokens and multimodal
tensors exactly as the sampler would make them (the same :class:`~vlenvs_train.policies.encode.PromptEncoder`
over the same canonical messages), and the demonstration's reply as response tokens ending with the
end-of-turn token. The loss (:func:`~vlenvs_train.algos.grpo.sft_token_loss` over
:func:`~vlenvs_train.policies.scoring.response_logprobs`) therefore sees only assistant tokens, and SFT and
RL see identical prompts.

- :class:`TeacherPolicy` answers each request with the env's oracle (Maze2D and GridWorld3D shortest paths,
  Geometry's answer with its worked solution as the ``<think>`` part) and encodes it like a sampler;
  rolling it out through the ordinary :class:`~vlenvs_train.adapter.agent.BatchedAgent` records the
  demonstrations.
- :func:`jsonl_examples` reads ``{"messages": [...]}`` lines: one example per assistant message, prompted by
  the messages before it (images: ``{"type": "image", "image": "file.png"}``, relative to the JSONL file).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from vlenvs.core.errors import DatasetError
from vlenvs_train.policies.base import PolicyOutput, PolicyRequest, check_outputs
from vlenvs_train.policies.encode import PromptEncoder
from vlenvs_train.policies.oracle import OraclePolicy


def end_of_turn_id(tokenizer: Any) -> int:
    """The token that ends an assistant turn (``<|im_end|>`` for Qwen chat templates, else EOS)."""
    vocab = tokenizer.get_vocab()
    return int(vocab["<|im_end|>"]) if "<|im_end|>" in vocab else int(tokenizer.eos_token_id)


def reply_ids(tokenizer: Any, text: str) -> np.ndarray:
    """Token ids of an assistant reply as the model should generate it: the text, then end-of-turn."""
    ids = tokenizer.encode(text, add_special_tokens=False)
    return np.asarray([*ids, end_of_turn_id(tokenizer)], dtype=np.int64)


def demonstration_text(request: PolicyRequest, answer_format: str) -> str:
    """The oracle's reply in the agent's answer format (``think``: a short reason or the worked solution)."""
    answer = OraclePolicy.answer(request)
    if answer_format != "think":
        return f"<answer>{answer}</answer>"
    solution = str(request.hints.get("solution", "") or "").strip()
    reason = solution if solution else f"I should {answer.replace('_', ' ')}."
    return f"<think>{reason}</think><answer>{answer}</answer>"


class TeacherPolicy:
    """The env's oracle behind the policy protocol, encoded exactly as a token-level sampler encodes.

    Its outputs are SFT examples: ``prompt_ids``/``mm_inputs`` from the model's processor, the oracle's
    reply as ``response_ids`` (log-probs are zeros: nothing was sampled).
    """

    def __init__(self, encoder: PromptEncoder, answer_format: str = "answer") -> None:
        self.encoder, self.answer_format = encoder, answer_format

    def generate(self, requests: Sequence[PolicyRequest]) -> list[PolicyOutput]:
        outputs = []
        for r in requests:
            enc = self.encoder.encode(r.messages)
            text = demonstration_text(r, self.answer_format)
            ids = reply_ids(self.encoder.tokenizer, text)
            outputs.append(PolicyOutput(text=text, prompt_ids=enc.prompt_ids, response_ids=ids,
                                        logprobs=np.zeros(len(ids), dtype=np.float32), mm_inputs=enc.mm_inputs))
        return check_outputs(requests, outputs, "TeacherPolicy")


def _load_image(value: Any, root: Path, where: str) -> np.ndarray:
    if isinstance(value, str):
        path = Path(value) if Path(value).is_absolute() else root / value
        try:
            with Image.open(path) as im:
                return np.asarray(im.convert("RGB"))
        except OSError as e:
            raise DatasetError(f"{where}: cannot read image {str(path)!r}: {e}") from e
    arr = np.asarray(value, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[-1] != 3:
        raise DatasetError(f"{where}: an image must be a file path or an HxWx3 array, got shape {arr.shape}")
    return arr


def canonical_messages(raw: Any, root: Path, where: str) -> list[dict[str, Any]]:
    """A JSONL conversation's messages in the adapter's canonical form (string contents become text parts)."""
    if not isinstance(raw, list) or not raw:
        raise DatasetError(f"{where}: 'messages' must be a non-empty list")
    out = []
    for m in raw:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant"):
            raise DatasetError(f"{where}: every message needs a role of 'system', 'user' or 'assistant'; got {m!r}")
        content = m.get("content", "")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else []
        for p in [] if isinstance(content, str) else content:
            kind = p.get("type") if isinstance(p, dict) else None
            if kind == "text":
                parts.append({"type": "text", "text": str(p.get("text", ""))})
            elif kind in ("image", "image_url"):
                value = p.get("image", p.get("image_url"))
                parts.append({"type": "image", "image": _load_image(value, root, where)})
            else:
                raise DatasetError(f"{where}: unknown content part {p!r}; expected type 'text' or 'image'")
        out.append({"role": m["role"], "content": parts})
    return out


def conversation_examples(encoder: PromptEncoder, messages: list[dict[str, Any]]) -> list[PolicyOutput]:
    """One example per assistant message: the conversation before it as the prompt, its text as the reply."""
    examples = []
    for k, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        text = "".join(p["text"] for p in m["content"] if p["type"] == "text")
        enc = encoder.encode(messages[:k])
        ids = reply_ids(encoder.tokenizer, text)
        examples.append(PolicyOutput(text=text, prompt_ids=enc.prompt_ids, response_ids=ids,
                                     logprobs=np.zeros(len(ids), dtype=np.float32), mm_inputs=enc.mm_inputs))
    return examples


def jsonl_examples(path: str | Path, encoder: PromptEncoder) -> list[PolicyOutput]:
    """SFT examples from a JSONL file of ``{"messages": [...]}`` conversations."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"SFT dataset {str(path)!r} does not exist")
    examples: list[PolicyOutput] = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise DatasetError(f"{where}: not valid JSON ({e.msg})") from e
        if not isinstance(row, dict) or "messages" not in row:
            raise DatasetError(f"{where}: expected an object with a 'messages' list")
        examples += conversation_examples(encoder, canonical_messages(row["messages"], path.parent, where))
    if not examples:
        raise DatasetError(f"SFT dataset {str(path)!r} has no assistant messages")
    return examples
