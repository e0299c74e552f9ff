from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs_train.models.processor import load_processor, vision_special_token_ids  # noqa: E402
from vlenvs_train.models.tiny import QWEN_SPECIAL_TOKENS, TAG_TOKENS, TinyVLMConfig, build_tiny_vlm  # noqa: E402


def test_folder_is_an_ordinary_qwen2_5_vl_checkpoint(tiny_model_path):
    names = {p.name for p in tiny_model_path.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
            "preprocessor_config.json", "video_preprocessor_config.json", "generation_config.json"} <= names
    config = json.loads((tiny_model_path / "config.json").read_text())
    assert config["architectures"] == ["Qwen2_5_VLForConditionalGeneration"]
    size = sum(p.stat().st_size for p in tiny_model_path.iterdir())
    assert size < 5_000_000


def test_loads_through_the_generic_code_path(tiny_model_path):
    from vlenvs_train.policies.hf import load_model

    model = load_model(tiny_model_path, device="cpu")
    params = sum(p.numel() for p in model.parameters())
    assert 300_000 < params < 2_000_000
    processor = load_processor(tiny_model_path)
    tok = processor.tokenizer
    for t in QWEN_SPECIAL_TOKENS + TAG_TOKENS:
        assert tok.convert_ids_to_tokens(tok.convert_tokens_to_ids(t)) == t
        assert len(tok(t, add_special_tokens=False)["input_ids"]) == 1
    assert len(vision_special_token_ids(tok)) == 5
    text = "Step 3. <answer>turn_left</answer> ∠ABC = 45°"
    assert tok.decode(tok(text)["input_ids"]) == text  # byte-level: any text round-trips


def test_processor_expands_images_and_marks_their_tokens(tiny_model_path):
    processor = load_processor(tiny_model_path)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}]
    text = processor.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n") and "<|vision_start|><|image_pad|><|vision_end|>hi" in text
    out = processor(text=[text], images=[Image.new("RGB", (32, 48))], return_tensors="np")
    assert out["image_grid_thw"].tolist() == [[1, 12, 8]]  # 48x32 pixels, patch 4
    pad = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert (out["input_ids"][0] == pad).sum() == 12 * 8 // 4 == out["mm_token_type_ids"][0].sum()


def test_bad_config_names_the_choices():
    from vlenvs.core.errors import InvalidConfigError

    with pytest.raises(InvalidConfigError, match="architecture 'llava'.*'qwen2_5_vl'"):
        TinyVLMConfig(architecture="llava")
    with pytest.raises(InvalidConfigError, match="vision_init 'xavier'.*'fan_in'"):
        TinyVLMConfig(vision_init="xavier")


def test_build_is_deterministic(tmp_path):
    from safetensors.numpy import load_file

    small = TinyVLMConfig(hidden_size=64, num_heads=2, num_kv_heads=1, intermediate_size=64, vision_hidden_size=32)
    a, b = build_tiny_vlm(tmp_path / "a", small), build_tiny_vlm(tmp_path / "b", small)
    wa, wb = load_file(a / "model.safetensors"), load_file(b / "model.safetensors")
    assert wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert (a / "tokenizer.json").read_text() == (b / "tokenizer.json").read_text()


def test_tiny_vlm_path_builds_once_and_reuses(tmp_path):
    from vlenvs_train.models.tiny import tiny_vlm_path

    small = TinyVLMConfig(hidden_size=64, num_heads=2, num_kv_heads=1, intermediate_size=64, vision_hidden_size=32)
    first = tiny_vlm_path(tmp_path, small)
    stamp = (first / "model.safetensors").stat().st_mtime_ns
    assert tiny_vlm_path(tmp_path, small) == first and (first / "model.safetensors").stat().st_mtime_ns == stamp
    assert tiny_vlm_path(tmp_path, TinyVLMConfig(seed=1)) != first


def test_fan_in_vision_init_rescales_only_the_vision_tower(tmp_path):
    """Qwen3-VL: vision matrices get std 1/sqrt(fan_in), position embeddings std 1; the language model and the
    vision norms/biases keep transformers' init (same seed)."""
    from safetensors.numpy import load_file

    small = dict(hidden_size=64, num_heads=2, num_kv_heads=1, intermediate_size=64, vision_hidden_size=32,
                 architecture="qwen3_vl")
    hf = load_file(build_tiny_vlm(tmp_path / "hf", TinyVLMConfig(**small)) / "model.safetensors")
    fan = load_file(build_tiny_vlm(tmp_path / "fan", TinyVLMConfig(**small, vision_init="fan_in")) / "model.safetensors")
    assert hf.keys() == fan.keys()
    checked = 0
    for key, value in fan.items():
        if ".visual." not in f".{key}" or (value.ndim < 2 and "pos_embed" not in key):
            assert np.array_equal(value, hf[key]), key
            continue
        want = 1.0 if "pos_embed" in key else value[0].size ** -0.5
        assert abs(float(value.std()) / want - 1) < 0.15, (key, float(value.std()), want)
        assert float(hf[key].std()) < 0.5 * want  # the default init is much smaller
        checked += 1
    assert checked >= 8


def test_a_change_to_the_tokenizer_texts_builds_a_new_folder(tmp_path, monkeypatch):
    """The prompts the tokenizer is trained on live in other modules: editing them must not reuse a stale cache."""
    from vlenvs_train.models import tiny

    small = TinyVLMConfig(hidden_size=64, num_heads=2, num_kv_heads=1, intermediate_size=64, vision_hidden_size=32)
    first = tiny.tiny_vlm_path(tmp_path, small)
    corpus = tiny.tokenizer_corpus()
    monkeypatch.setattr(tiny, "tokenizer_corpus", lambda: [*corpus, "Geometry3k. Answer: a number."])
    second = tiny.tiny_vlm_path(tmp_path, small)
    assert second != first and (second / "tokenizer.json").exists()
