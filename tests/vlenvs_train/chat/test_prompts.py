from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from vlenvs.core.language import language_specs
from vlenvs_train.chat.messages import (
    Turn,
    build_messages,
    images_of,
    png_data_url,
    to_openai_messages,
    to_template_messages,
)
from vlenvs_train.chat.prompts import system_prompt, user_text

ENV_SPECS = language_specs()

IMG = np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)


def test_system_prompt_states_task_actions_and_format():
    spec = ENV_SPECS["vlenvs/Maze2D-v0"]
    text = system_prompt(spec, ("up", "down", "left", "right"), "think")
    assert spec.task in text and "<think>" in text and "<answer>" in text
    for a in ("up", "down", "left", "right"):
        assert f"- {a}:" in text
    assert "- stop:" not in text  # only the env's legal actions
    geo = system_prompt(ENV_SPECS["vlenvs/Geometry3k-v0"], (), "answer")
    assert "Legal actions" not in geo and "<think>" not in geo


def test_user_text_carries_feedback_and_instruction():
    assert user_text("Go to the red square.", 3, "You bumped into a wall.") == (
        "You bumped into a wall.\nStep 3. Instruction: Go to the red square.")


def test_history_window_with_and_without_images():
    history = [Turn(IMG, "Step 0. Instruction: a", "<answer>up</answer>"), Turn(IMG, "Step 1. Instruction: a", "x")]
    with_images = build_messages("sys", history, IMG, "Step 2.", history_images=True)
    text_only = build_messages("sys", history, IMG, "Step 2.", history_images=False)
    assert [m["role"] for m in with_images] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert len(images_of(with_images)) == 3 and len(images_of(text_only)) == 1
    assert with_images[2]["content"][0]["text"] == "<answer>up</answer>"


def test_template_and_openai_forms_keep_images_in_order():
    second = IMG[::-1].copy()
    msgs = build_messages("sys", [Turn(IMG, "t0", "r0")], second, "t1", history_images=True)
    template, pil = to_template_messages(msgs)
    assert [np.asarray(p).tolist() for p in pil] == [IMG.tolist(), second.tolist()]
    assert all("image" not in part for m in template for part in m["content"] if part["type"] == "image")
    openai = to_openai_messages(msgs)
    urls = [p["image_url"]["url"] for m in openai for p in m["content"] if p["type"] == "image_url"]
    assert len(urls) == 2 and all(u.startswith("data:image/png;base64,") for u in urls)


def test_png_data_url_is_lossless():
    url = png_data_url(IMG)
    back = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert np.array_equal(back, IMG)


def test_compact_prompt_is_one_line_with_every_legal_action():
    spec = ENV_SPECS["vlenvs/Maze2D-v0"]
    actions = ("up", "down", "left", "right", "stop")
    compact = system_prompt(spec, actions, "answer", "compact")
    assert "\n" not in compact and compact.startswith("Maze2D.") and "<answer>...</answer>" in compact
    assert compact.split("Actions: ")[1].split(".")[0].split() == list(actions)
    assert len(compact) < len(system_prompt(spec, actions, "answer")) / 3
    assert "<think>" in system_prompt(spec, actions, "think", "compact")
    geo = system_prompt(ENV_SPECS["vlenvs/Geometry3k-v0"], (), "answer", "compact")
    assert ENV_SPECS["vlenvs/Geometry3k-v0"].answer_hint in geo
    assert user_text("Go to the red square.", 3, "You bumped into a wall.", "compact") == (
        "You bumped into a wall.\nGo to the red square.")
