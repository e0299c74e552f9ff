"""The skyrl-gym adapter, tested against the real ``skyrl_gym`` package."""

from __future__ import annotations

import base64
import io
import json

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

skyrl_gym = pytest.importorskip("skyrl_gym")

import vlenvs  # noqa: E402
from tests.test_registry import FAST_KWARGS  # noqa: E402
from vlenvs.core.errors import InvalidConfigError, ResetNeededError  # noqa: E402
from vlenvs_train.integrations.skyrl_gym import (  # noqa: E402
    IMAGE_FORMATS,
    PLACEHOLDER_PROMPT,
    VlenvsTextEnv,
    dataset_rows,
    register_vlenvs,
)
from vlenvs_train.policies.base import PolicyRequest  # noqa: E402
from vlenvs_train.policies.oracle import OraclePolicy  # noqa: E402

ENV_IDS = sorted(vlenvs.ENVS)
MAZE = "vlenvs/Maze2D-v0"
GEO = "vlenvs/Geometry3k-v0"
DATASET_PROMPT = [{"role": "user", "content": PLACEHOLDER_PROMPT}]


@pytest.fixture(scope="module", autouse=True)
def registered():
    return register_vlenvs()


def make(env_id, env_config=None, **extras):
    config = dict(env_config or {})
    config["env_kwargs"] = {**FAST_KWARGS.get(env_id, {}), **config.get("env_kwargs", {})}
    return skyrl_gym.make(env_id, env_config=config, extras=extras)


def oracle_text(env, info):
    """The oracle's answer for this state, written as a model reply."""
    answer = OraclePolicy.answer(PolicyRequest([], tuple(env.legal_actions), info))
    return f"<think>the oracle says so</think><answer>{answer}</answer>"


def texts(message):
    content = message["content"]
    return content if isinstance(content, str) else "\n".join(p["text"] for p in content if p["type"] == "text")


def decode_data_url(url):
    head, data = url.split(",", 1)
    assert head == "data:image/png;base64"
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))


def run_oracle(env, meta, limit=500):
    """Drive a made+initialised adapter env with oracle replies; every step's output."""
    outs, info = [], meta["info"]
    for _ in range(limit):
        out = env.step(oracle_text(env, info))
        outs.append(out)
        info = out["metadata"]["info"]
        if out["done"]:
            return outs
    raise AssertionError("the oracle episode did not end")


def test_register_covers_every_vlenvs_id_and_is_idempotent(registered):
    assert registered == tuple(ENV_IDS)
    assert register_vlenvs() == tuple(ENV_IDS)
    for env_id in ENV_IDS:
        assert skyrl_gym.spec(env_id).kwargs == {"env_id": env_id}
    with pytest.raises(InvalidConfigError, match="vlenvs/Maze2D-v0"):
        register_vlenvs(["vlenvs/Nope-v0"])


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_oracle_episode_equals_driving_the_gym_env_directly(env_id):
    env = make(env_id, seed=11)
    assert isinstance(env, VlenvsTextEnv) and isinstance(env, skyrl_gym.envs.base_text_env.BaseTextEnv)
    messages, meta = env.init(DATASET_PROMPT)
    assert [m["role"] for m in messages] == ["system", "user"] and PLACEHOLDER_PROMPT not in json.dumps(messages)
    outs = run_oracle(env, meta)

    direct = gym.make(env_id, **FAST_KWARGS.get(env_id, {}))
    obs, info = direct.reset(seed=11)
    rewards, names = [], getattr(direct.unwrapped, "action_names", ())
    assert decode_data_url(messages[1]["content"][0]["image_url"]["url"]).tolist() == obs["image"].tolist()
    for out in outs:
        answer = OraclePolicy.answer(PolicyRequest([], tuple(names), info))
        obs, reward, terminated, truncated, info = direct.step(names.index(answer) if names else answer)
        rewards.append(reward)
        assert out["metadata"]["terminated"] == terminated and out["metadata"]["truncated"] == truncated
    assert terminated or truncated
    assert [o["reward"] for o in outs] == pytest.approx(rewards)
    assert outs[-1]["metadata"]["success"] == bool(info["success"]) is True
    assert all(o["metadata"]["valid"] for o in outs) and outs[-1]["observations"] == []
    assert env.get_metrics() == {"turns": len(outs), "success": 1.0, "return": pytest.approx(sum(rewards)),
                                 "invalid_replies": 0.0, "invalid_rate": 0.0}


def test_invalid_reply_gets_fallback_penalty_and_feedback():
    env = make(MAZE, {"invalid_penalty": 0.25, "fallback_action": "left"}, seed=5)
    env.init(DATASET_PROMPT)
    out = env.step("I would rather not say.")
    meta = out["metadata"]
    assert not meta["valid"] and "names no legal action" in meta["parse_error"] and meta["action"] == "left"
    assert out["reward"] == pytest.approx(meta["env_reward"] - 0.25)
    feedback = texts(out["observations"][0])
    assert feedback.startswith("Your last reply was invalid") and "up, down, left, right" in feedback

    direct = gym.make(MAZE, **FAST_KWARGS[MAZE])
    direct.reset(seed=5)
    obs, *_ = direct.step(direct.unwrapped.action_names.index("left"))
    assert decode_data_url(out["observations"][0]["content"][0]["image_url"]["url"]).tolist() == obs["image"].tolist()

    out = env.step("<answer>up</answer>")
    assert out["metadata"]["valid"] and not texts(out["observations"][0]).startswith("Your last reply")
    assert env.get_metrics()["invalid_replies"] == 1.0 and env.get_metrics()["invalid_rate"] == 0.5


def test_strict_format_rejects_untagged_replies():
    env = make(MAZE, {"strict_format": True, "answer_format": "answer"}, seed=5)
    messages, _ = env.init(DATASET_PROMPT)
    assert "<answer>...</answer> and nothing else" in texts(messages[0])
    assert not env.step("up")["metadata"]["valid"]
    assert env.step("<answer>up</answer>")["metadata"]["valid"]


def test_prompt_style_compact_reaches_the_conversation():
    env = make(MAZE, {"prompt_style": "compact", "answer_format": "answer"}, seed=5)
    messages, _ = env.init(DATASET_PROMPT)
    assert texts(messages[0]).startswith("Maze2D. Actions: up down left right.")
    assert "Step 0" not in texts(messages[1])  # the compact user text is the bare instruction


def test_geometry3k_correct_and_wrong_answers():
    kwargs = {"env_kwargs": {"max_attempts": 1}}
    right = make(GEO, kwargs, seed=4)
    _, meta = right.init(DATASET_PROMPT)
    assert right.legal_actions == ()
    gold = meta["info"]["oracle_answer"]
    out = right.step(f"Thinking... so the answer is \\boxed{{{gold}}}")
    assert out["done"] and out["reward"] == 1.0 and out["metadata"]["success"] and out["metadata"]["answer"] == gold

    wrong = make(GEO, kwargs, seed=4)
    wrong.init(DATASET_PROMPT)
    out = wrong.step("<answer>123456789</answer>")
    assert out["done"] and out["reward"] == 0.0 and not out["metadata"]["success"] and out["observations"] == []

    retry = make(GEO, {"env_kwargs": {"max_attempts": 2}}, seed=4)
    retry.init(DATASET_PROMPT)
    out = retry.step("<answer>123456789</answer>")
    assert not out["done"] and out["reward"] == 0.0
    assert "incorrect" in out["metadata"]["info"]["feedback"]
    assert out["metadata"]["info"]["feedback"] in texts(out["observations"][0])
    assert retry.step(f"<answer>{gold}</answer>")["reward"] == 1.0


@pytest.mark.parametrize("image_format", IMAGE_FORMATS)
def test_message_formats(image_format):
    env = make(MAZE, {"image_format": image_format}, seed=2)
    messages, _ = env.init(DATASET_PROMPT)
    direct = gym.make(MAZE, render_mode="ansi", **FAST_KWARGS[MAZE])
    obs, _ = direct.reset(seed=2)
    system, user = messages
    assert system["role"] == "system" and user["role"] == "user"
    assert "Legal actions" in texts(system) and obs["instruction"] in texts(user)
    if image_format == "text":
        assert isinstance(system["content"], str) and isinstance(user["content"], str)
        assert direct.render() in user["content"]
        json.dumps(messages)
        return
    image_part, text_part = user["content"]
    assert text_part["type"] == "text"
    if image_format == "data_url":
        assert set(image_part) == {"type", "image_url"} and image_part["type"] == "image_url"
        pixels = decode_data_url(image_part["image_url"]["url"])
        json.dumps(messages)  # goes over HTTP to vLLM's chat endpoint
    else:
        assert set(image_part) == {"type", "image"} and image_part["type"] == "image"
        expected_type = Image.Image if image_format == "pil" else np.ndarray
        assert isinstance(image_part["image"], expected_type)
        pixels = np.asarray(image_part["image"])
    assert pixels.dtype == np.uint8 and pixels.tolist() == obs["image"].tolist()
    out = env.step("<answer>down</answer>")
    assert [m["role"] for m in out["observations"]] == ["user"]
    if image_format != "data_url":  # the first image is not a view the env overwrites later
        assert np.asarray(image_part["image"]).tolist() == obs["image"].tolist()


def test_conversation_goes_through_a_real_qwen_vl_chat_template(tiny_model_path):
    from transformers import AutoTokenizer

    from vlenvs_train.models.processor import load_processor

    reply = "<answer>up</answer>"
    env = make(MAZE, seed=3)  # data URLs: the form SkyRL's VLM generator sends to vLLM's chat endpoint
    conversation, _ = env.init(DATASET_PROMPT)
    conversation += [{"role": "assistant", "content": reply}] + env.step(reply)["observations"]
    rendered = AutoTokenizer.from_pretrained(tiny_model_path).apply_chat_template(
        conversation, tokenize=False, add_generation_prompt=True)
    assert rendered.count("<|vision_start|><|image_pad|><|vision_end|>") == 2
    assert "Step 1. Instruction" in rendered and reply in rendered

    env = make(MAZE, {"image_format": "pil"}, seed=3)
    conversation, _ = env.init(DATASET_PROMPT)
    conversation += [{"role": "assistant", "content": [{"type": "text", "text": reply}]}]
    conversation += env.step(reply)["observations"]
    batch = load_processor(tiny_model_path).apply_chat_template(
        conversation, tokenize=True, return_dict=True, add_generation_prompt=True)
    assert np.asarray(batch["image_grid_thw"]).shape == (2, 3)


def test_same_seed_same_episode_and_reinit_repeats_it():
    replies = ["<answer>up</answer>", "nonsense", "<answer>left</answer>", "<answer>down</answer>"]

    def episode(env):
        messages, _ = env.init(DATASET_PROMPT)
        outs = [env.step(r) for r in replies]
        return json.dumps(messages), [(json.dumps(o["observations"]), o["reward"], o["done"]) for o in outs]

    env = make(MAZE, {"fallback": "random"}, seed=8)
    first = episode(env)
    assert episode(make(MAZE, {"fallback": "random"}, seed=8)) == first
    assert episode(env) == first
    assert episode(make(MAZE, {"fallback": "random"}, seed=9))[0] != first[0]


def test_max_turns_smaller_bound_wins_and_step_after_done_raises():
    env = make(MAZE, {"max_turns": 5}, seed=1, max_turns=2)
    with pytest.raises(ResetNeededError, match="init"):
        env.step("<answer>up</answer>")
    env.init(DATASET_PROMPT)
    assert not env.step("<answer>up</answer>")["done"]
    out = env.step("<answer>down</answer>")
    assert out["done"] and out["metadata"]["max_turns_reached"] and out["observations"] == []
    with pytest.raises(ResetNeededError, match="ended"):
        env.step("<answer>up</answer>")


def test_skyrl_style_configs_and_dataset_rows_roundtrip(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    from omegaconf import OmegaConf
    from skyrl_gym.metrics import aggregate_for_environment

    rows = dataset_rows(MAZE, [0, 1], env_kwargs=FAST_KWARGS[MAZE], preset="easy")
    path, metrics = tmp_path / "train.parquet", []
    pd.DataFrame(rows).to_parquet(path)
    for i, record in enumerate(pd.read_parquet(path).to_dict("records")):
        extras = {k: v for k, v in record.items() if k not in ("prompt", "env_class")}
        extras.update(reward_spec={"method": "rule"}, max_turns=3)  # SkyRL's own columns are ignored
        env = skyrl_gym.make(record["env_class"], env_config=OmegaConf.create({"invalid_penalty": 0.1}),
                             extras=extras)
        assert env.config.seed == i and env.config.preset == "easy" and env.config.max_turns == 3
        assert env.config.agent.invalid_penalty == 0.1 and env.config.env_kwargs == FAST_KWARGS[MAZE]
        messages, _ = env.init(record["prompt"])
        direct = gym.make(MAZE, preset="easy", **FAST_KWARGS[MAZE])
        obs, _ = direct.reset(seed=i)
        assert decode_data_url(messages[1]["content"][0]["image_url"]["url"]).tolist() == obs["image"].tolist()
        for _ in range(i + 1):
            env.step("<answer>up</answer>")
        metrics.append(env.get_metrics())
    aggregated = aggregate_for_environment(MAZE, metrics)  # SkyRL keeps only numeric metrics
    assert aggregated.keys() == metrics[0].keys() and aggregated["turns"] == 1.5


@pytest.mark.parametrize(("env_config", "extras", "match"), [
    ({}, {"seed": -1}, "seed -1"),
    ({}, {"seed": "abc"}, "seed 'abc'"),
    ({}, {"seed": True}, "seed True"),
    ({"sead": 1}, {}, "env_config key 'sead'.*'seed'"),
    ({"image_format": "jpeg"}, {}, "image_format 'jpeg'.*'data_url'"),
    ({}, {"env_kwargs": "{not json"}, "env_kwargs"),
    ({}, {"env_kwargs": {"render_mode": "human"}}, "render_mode"),
    ({}, {"env_kwargs": {"colour": "red"}}, "argument 'colour'"),
    ({}, {"preset": "impossible"}, "preset 'impossible'"),
    ({}, {"max_turns": 0}, "max_turns 0"),
    ({"fallback_action": "jump"}, {}, "fallback_action 'jump'"),
    ([1, 2], {}, "env_config"),
])
def test_bad_config_gets_a_typed_error(env_config, extras, match):
    with pytest.raises(InvalidConfigError, match=match):
        skyrl_gym.make(MAZE, env_config=env_config, extras=extras)


def test_unknown_env_id_and_dataset_option_name_the_valid_ones():
    with pytest.raises(InvalidConfigError, match="'vlenvs/Maze2D-v0'"):
        VlenvsTextEnv("vlenvs/Nope-v0")
    with pytest.raises(InvalidConfigError, match="dataset option 'colour'"):
        dataset_rows(MAZE, [0], colour="red")
    with pytest.raises(InvalidConfigError, match="seed -3"):
        dataset_rows(MAZE, [-3])
