"""Build the tiny offline vision-language model: a Qwen2.5-VL architecture of ~0.6 M parameters.

Nothing can be downloaded here or in CI, so tests and the CPU demo use this model. It is an ordinary
Hugging Face folder — ``config.json`` + ``model.safetensors``, a byte-level BPE tokenizer trained locally
with the ``tokenizers`` library (Qwen's pre-tokenizer, chat and vision special tokens), the Qwen2-VL image
processor config, a video processor config (vLLM builds the stock processor, which wants one), the Qwen
chat template and a generation config — so it loads through exactly the code paths of a real
Qwen2.5-VL checkpoint: ``Qwen2_5_VLForConditionalGeneration.from_pretrained``/:func:`load_processor` in
transformers, ``vllm.LLM(model=folder)`` and ``python -m vllm.entrypoints.openai.api_server --model folder``.

Images whose sides are multiples of 8 (patch 4 x merge 2) are used as they are; e.g. 32x32 -> 16 tokens.

    python -m vlenvs_train.models.tiny OUT_DIR
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from vlenvs.core.config import check_choice, check_int
from vlenvs.core.language import language_specs
from vlenvs_train.chat.prompts import answer_format_text, system_prompt, user_text

#: Qwen's special tokens (chat, grounding, vision), in Qwen's order.
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>", "<|box_start|>",
    "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
    "<|image_pad|>", "<|video_pad|>",
)
#: Architecture -> (processor class, video processor class) written into the folder, as in real checkpoints.
ARCHITECTURES = {"qwen2_5_vl": ("Qwen2_5_VLProcessor", "Qwen2VLVideoProcessor"),
                 "qwen3_vl": ("Qwen3VLProcessor", "Qwen3VLVideoProcessor")}
VISION_INITS = ("hf", "fan_in")
#: Reasoning/answer tags: added as whole (non-special) tokens, as Qwen3 does for ``<think>``.
TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' or part['type'] == 'image_url' or 'image' in part %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif part['type'] == 'video' or 'video' in part %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in part %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


@dataclass(frozen=True)
class TinyVLMConfig:
    """Sizes of the tiny model. Defaults give ~0.6 M parameters and a ~2.5 MB folder."""

    vocab_size: int = 1024
    """BPE vocabulary trained on the envs' prompts (special and tag tokens included)."""
    hidden_size: int = 128
    """Width of the language model (and of the vision merger's output)."""
    num_layers: int = 2
    """Language model layers."""
    num_heads: int = 4
    """Attention heads (head size 32, which vLLM's CPU attention supports)."""
    num_kv_heads: int = 2
    """Key/value heads (grouped-query attention, as Qwen)."""
    intermediate_size: int = 256
    """MLP width of the language model."""
    vision_hidden_size: int = 64
    """Width of the vision transformer."""
    vision_depth: int = 2
    """Vision transformer blocks (the last one full attention, the others windowed)."""
    patch_size: int = 4
    """Vision patch side in pixels (images are cut into patch_size x patch_size patches, merged 2x2)."""
    max_image_side: int = 128
    """Largest image side kept as is; larger images are downscaled by the image processor."""
    seed: int = 0
    """Seed of the weight initialisation (same seed, same weights)."""
    architecture: Literal["qwen2_5_vl", "qwen3_vl"] = "qwen2_5_vl"
    """``qwen2_5_vl`` (the default, what vLLM tests use) or ``qwen3_vl`` (checks the Qwen3-VL code path)."""
    vision_init: Literal["hf", "fan_in"] = "hf"
    """Initialisation of the vision tower. ``"hf"``: transformers' (normal, std 0.02), under which every
    floor square's token is ~0.999 cosine-similar to every other and a coloured shape barely moves its
    token, so a model trained from scratch plateaus at chance for thousands of steps; ``"fan_in"``:
    weight matrices normal with std ``1/sqrt(fan_in)`` and Qwen3-VL's learned position embeddings with std 1,
    so colours and positions reach the language model distinctly (what the CPU recipe uses)."""

    def __post_init__(self) -> None:
        check_choice("architecture", self.architecture, tuple(ARCHITECTURES))
        check_choice("vision_init", self.vision_init, VISION_INITS)
        check_int("vocab_size", self.vocab_size, 512, 1 << 20)
        for name in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "intermediate_size",
                     "vision_hidden_size", "vision_depth", "patch_size", "max_image_side"):
            check_int(name, getattr(self, name), 1, 1 << 16)
        check_int("seed", self.seed, 0, 2**32 - 1)

    def fingerprint(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


def tokenizer_corpus() -> list[str]:
    """Texts the tokenizer is trained on: every vlenvs env's prompts (from its language spec, found through the
    registry), the env's own phrases (e.g. its instructions), answers and numbers."""
    specs = list(language_specs().values())
    texts = []
    for spec in specs:
        names = tuple(spec.action_help) or ("answer",)
        for fmt in ("think", "answer"):
            texts += [system_prompt(spec, names, fmt, style) for style in ("full", "compact")]
            texts.append(answer_format_text(fmt))
        texts += [f"<think>I should {a.replace('_', ' ')}.</think><answer>{a}</answer>" for a in names]
        texts += list(spec.synonyms) + list(spec.feedback.values())
    for spec in specs:
        texts += list(spec.phrases)
    texts += [user_text("Find the value of x.", k, "Your last reply was invalid.") for k in range(20)]
    texts += [" ".join(str(n) for n in range(k, k + 50)) for k in range(0, 500, 50)]
    texts.append("The angle is 45 degrees, the side is 3.5 cm and the area is 12 square units; x = 2, y = sqrt(3).")
    return texts


def build_tokenizer(vocab_size: int):
    """A Qwen2-style byte-level BPE tokenizer trained on :func:`tokenizer_corpus`."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer
    from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX

    tok = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(QWEN_SPECIAL_TOKENS) - len(TAG_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), min_frequency=1, show_progress=False,
    )
    tok.train_from_iterator(tokenizer_corpus(), trainer=trainer)
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in QWEN_SPECIAL_TOKENS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    return Qwen2Tokenizer(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", unk_token=None,
        model_max_length=4096, errors="replace", clean_up_tokenization_spaces=False,
        extra_special_tokens={"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                              "vision_bos_token": "<|vision_start|>", "vision_eos_token": "<|vision_end|>"},
    )


def _model_config(cfg: TinyVLMConfig, vocab: dict[str, int], vocab_size: int):
    from transformers import Qwen2_5_VLConfig, Qwen3VLConfig

    head_dim = cfg.hidden_size // cfg.num_heads
    half = head_dim // 2  # rotary pairs per head, split into (time, height, width)
    hw = (3 * half) // 8  # Qwen's proportions: [16, 24, 24] for head size 128
    rope = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [half - 2 * hw, hw, hw]}
    text = dict(
        vocab_size=vocab_size, hidden_size=cfg.hidden_size, intermediate_size=cfg.intermediate_size,
        num_hidden_layers=cfg.num_layers, num_attention_heads=cfg.num_heads, num_key_value_heads=cfg.num_kv_heads,
        max_position_embeddings=4096, rms_norm_eps=1e-6, bos_token_id=vocab["<|endoftext|>"],
        eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<|endoftext|>"], tie_word_embeddings=True,
        rope_parameters=rope,
    )
    vision = dict(
        depth=cfg.vision_depth, hidden_size=cfg.vision_hidden_size, intermediate_size=2 * cfg.vision_hidden_size,
        num_heads=2, in_channels=3, patch_size=cfg.patch_size, spatial_merge_size=2, temporal_patch_size=2,
        out_hidden_size=cfg.hidden_size,
    )
    tokens = dict(image_token_id=vocab["<|image_pad|>"], video_token_id=vocab["<|video_pad|>"],
                  vision_start_token_id=vocab["<|vision_start|>"], vision_end_token_id=vocab["<|vision_end|>"],
                  tie_word_embeddings=True)
    if cfg.architecture == "qwen3_vl":
        text.update(head_dim=head_dim, rope_parameters={**rope, "mrope_interleaved": True})
        vision.update(num_position_embeddings=(cfg.max_image_side // cfg.patch_size) ** 2, deepstack_visual_indexes=[0])
        return Qwen3VLConfig(text_config=text, vision_config=vision, **tokens)
    text.update(use_sliding_window=False)
    vision.update(window_size=cfg.patch_size * 2 * 4, tokens_per_second=2, fullatt_block_indexes=[cfg.vision_depth - 1])
    return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **tokens)


def _preprocessor_configs(cfg: TinyVLMConfig) -> tuple[dict, dict]:
    factor = cfg.patch_size * 2
    common = {
        "do_resize": True, "do_rescale": True, "rescale_factor": 1 / 255, "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
        "do_convert_rgb": True, "resample": 3, "patch_size": cfg.patch_size, "temporal_patch_size": 2,
        "merge_size": 2,
        "size": {"shortest_edge": factor * factor, "longest_edge": cfg.max_image_side * cfg.max_image_side},
        "processor_class": ARCHITECTURES[cfg.architecture][0],
    }
    image = {**common, "image_processor_type": "Qwen2VLImageProcessor"}
    video = {**common, "video_processor_type": ARCHITECTURES[cfg.architecture][1], "do_sample_frames": False,
             "min_frames": 2, "max_frames": 8, "fps": 2.0}
    return image, video


def build_tiny_vlm(out_dir: str | Path, config: TinyVLMConfig = TinyVLMConfig()) -> Path:
    """Write the tiny model folder to ``out_dir`` (created; existing files are overwritten)."""
    import torch
    from transformers import AutoModelForImageTextToText, GenerationConfig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer(config.vocab_size)
    tokenizer.chat_template = CHAT_TEMPLATE
    vocab = tokenizer.get_vocab()
    vocab_size = -(-len(tokenizer) // 64) * 64
    model_cfg = _model_config(config, vocab, vocab_size)
    torch.manual_seed(config.seed)
    model = AutoModelForImageTextToText.from_config(model_cfg).to(torch.float32).eval()
    if config.vision_init == "fan_in":
        fan_in_vision_init(model, config.seed)
    model.generation_config = GenerationConfig(
        bos_token_id=vocab["<|endoftext|>"], eos_token_id=[vocab["<|im_end|>"], vocab["<|endoftext|>"]],
        pad_token_id=vocab["<|endoftext|>"], do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    image_cfg, video_cfg = _preprocessor_configs(config)
    (out / "preprocessor_config.json").write_text(json.dumps(image_cfg, indent=2))
    (out / "video_preprocessor_config.json").write_text(json.dumps(video_cfg, indent=2))
    (out / "processor_config.json").write_text(json.dumps({"processor_class": ARCHITECTURES[config.architecture][0]}))
    (out / "chat_template.jinja").write_text(CHAT_TEMPLATE)
    (out / "tiny_vlm.json").write_text(json.dumps({"builder": "vlenvs_train.models.tiny", **asdict(config)}, indent=2))
    return out


def fan_in_vision_init(model, seed: int) -> None:
    """Re-draw the vision tower's weight matrices with std ``1/sqrt(fan_in)`` and its position embeddings
    (Qwen3-VL) with std 1; norms and biases keep their values (see ``TinyVLMConfig.vision_init``)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.model.visual.named_parameters():
            if "pos_embed" in name:
                param.normal_(0.0, 1.0, generator=gen)
            elif param.dim() >= 2:
                param.normal_(0.0, param[0].numel() ** -0.5, generator=gen)


def tiny_vlm_path(cache_dir: str | Path | None = None, config: TinyVLMConfig = TinyVLMConfig()) -> Path:
    """The tiny model folder for ``config``, built once into ``cache_dir`` (default ``$VLENVS_CACHE`` or
    ``~/.cache/vlenvs``) and reused; the folder name carries a fingerprint of the config, the builder and the
    tokenizer's training texts."""
    root = Path(cache_dir or os.environ.get("VLENVS_CACHE") or Path.home() / ".cache" / "vlenvs")
    # the builder's code and the texts the tokenizer is trained on (prompts and env phrases live elsewhere)
    code = hashlib.sha1(Path(__file__).read_bytes() + "\n".join(tokenizer_corpus()).encode()).hexdigest()[:8]
    path = root / f"tiny-{config.architecture}-{config.fingerprint()}-{code}"
    if (path / "tiny_vlm.json").exists():
        return path
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tiny-", dir=root))
    build_tiny_vlm(tmp, config)
    try:
        tmp.rename(path)
    except OSError:  # another process built it first
        pass
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build the tiny offline Qwen2.5-VL model folder.")
    parser.add_argument("out_dir", help="folder to write the model to")
    parser.add_argument("--seed", type=int, default=0, help="weight initialisation seed")
    args = parser.parse_args(argv)
    path = build_tiny_vlm(args.out_dir, TinyVLMConfig(seed=args.seed))
    print(path)


if __name__ == "__main__":
    main()
