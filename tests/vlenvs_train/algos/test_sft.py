"""SFT data: oracle demonstrations prompted exactly like the sampler, JSONL conversations, typed errors."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from PIL import Image  # noqa: E402

import vlenvs  # noqa: E402,F401
from vlenvs.core.errors import DatasetError  # noqa: E402
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent  # noqa: E402
from vlenvs_train.algos.sft import TeacherPolicy, demonstration_text, jsonl_examples  # noqa: E402
from vlenvs_train.policies.base import PolicyRequest  # noqa: E402


def test_teacher_prompts_equal_the_samplers_and_replies_are_the_oracles(hf_policy):
    env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=3, size=5, image_size=40)
    obs, info = env.reset(seed=3)
    teacher = TeacherPolicy(hf_policy.encoder, "answer")
    agent = BatchedAgent(teacher, env, AgentConfig(answer_format="answer"))
    reqs = agent.requests(obs, info, np.arange(3))
    demos, sampled = teacher.generate(reqs), hf_policy.generate(reqs)
    tok = hf_policy.encoder.tokenizer
    for d, s, r, a in zip(demos, sampled, reqs, info["oracle_action"]):
        np.testing.assert_array_equal(d.prompt_ids, s.prompt_ids)
        for key in s.mm_inputs:
            np.testing.assert_array_equal(d.mm_inputs[key], s.mm_inputs[key])
        assert d.text == f"<answer>{agent.action_names[a]}</answer>"
        assert tok.decode(d.response_ids) == d.text + "<|im_end|>"
        assert int(d.response_ids[-1]) in hf_policy.end_ids
    actions, _ = agent.act(obs, info)
    np.testing.assert_array_equal(actions, info["oracle_action"])


def test_think_format_uses_the_worked_solution():
    req = PolicyRequest([], (), {"oracle_answer": "12", "solution": "x = 3 * 4 = 12."})
    assert demonstration_text(req, "think") == "<think>x = 3 * 4 = 12.</think><answer>12</answer>"
    req = PolicyRequest([], ("up", "down"), {"oracle_action": 1})
    assert demonstration_text(req, "think") == "<think>I should down.</think><answer>down</answer>"


def test_jsonl_conversations_give_one_example_per_assistant_turn(tmp_path, hf_policy):
    Image.fromarray(np.full((16, 16, 3), 200, np.uint8)).save(tmp_path / "a.png")
    conv = {"messages": [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": [{"type": "image", "image": "a.png"}, {"type": "text", "text": "Where?"}]},
        {"role": "assistant", "content": "<answer>up</answer>"},
        {"role": "user", "content": "And now?"},
        {"role": "assistant", "content": [{"type": "text", "text": "<answer>left</answer>"}]},
    ]}
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(conv) + "\n\n" + json.dumps({"messages": conv["messages"][:3]}) + "\n")
    ex = jsonl_examples(path, hf_policy.encoder)
    assert len(ex) == 3
    tok = hf_policy.encoder.tokenizer
    assert [e.text for e in ex] == ["<answer>up</answer>", "<answer>left</answer>", "<answer>up</answer>"]
    second_prompt = tok.decode(ex[1].prompt_ids)
    assert "<answer>up</answer>" in second_prompt and second_prompt.endswith("assistant\n")
    assert "pixel_values" in ex[0].mm_inputs and len(ex[0].prompt_ids) < len(ex[1].prompt_ids)


@pytest.mark.parametrize("line, match", [
    ("{not json", "not valid JSON"),
    ('{"text": "hi"}', "'messages'"),
    ('{"messages": [{"role": "robot", "content": "x"}]}', "role"),
    ('{"messages": [{"role": "user", "content": [{"type": "image", "image": "missing.png"}]}]}', "cannot read image"),
    ('{"messages": [{"role": "user", "content": "no reply"}]}', "no assistant messages"),
])
def test_bad_datasets_raise_dataset_errors(tmp_path, hf_policy, line, match):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(DatasetError, match=match):
        jsonl_examples(path, hf_policy.encoder)
    with pytest.raises(DatasetError, match="does not exist"):
        jsonl_examples(tmp_path / "nope.jsonl", hf_policy.encoder)
