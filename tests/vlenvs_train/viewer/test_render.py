"""The viewer file: data round-trips, replies cannot break out of the page, frames are downscaled and
capped, and the trainer's Episode objects work as they come out of play_many."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
from PIL import Image

from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.policies.oracle import OraclePolicy
from vlenvs_train.rollout.envs import EnvFactory
from vlenvs_train.rollout.play import play_many
from vlenvs_train.viewer import PromptRecorder, viewer_html, write_viewer
from vlenvs_train.viewer.records import frame_urls

MAZE = EnvFactory("vlenvs/Maze2D-v0", {}, "easy")


def play_episodes(policy, seeds, frames=None):
    return play_many(MAZE, AgentConfig(answer_format="answer"), policy, seeds, len(seeds), frames)


def page_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    assert m, "no data block"
    return json.loads(m.group(1))


def record(reply: str) -> dict:
    turn = {"prompt": "p", "reply": reply, "action": "up", "valid": False, "parse_error": "e", "reward": 0.0,
            "feedback": "", "info": {}}
    return {"env": "E", "env_id": "vlenvs/E", "seed": 1, "family": "E", "success": False, "return": 0.0,
            "length": 1, "invalid": 1, "terminated": False, "truncated": True, "system": "s", "turns": [turn]}


def test_a_reply_cannot_close_the_script_or_inject_markup():
    evil = "</script><script>alert(1)</script><img src=x onerror=alert(2)>"
    html = viewer_html([record(evil)], title="<b>t</b>")
    assert html.count("</script>") == 2  # the data block's and the code's own
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in html
    assert page_data(html)["episodes"][0]["turns"][0]["reply"] == evil


def test_frames_are_downscaled_and_capped():
    frames = [np.full((300, 200, 3), k, np.uint8) for k in range(10)]
    urls = frame_urls(frames, size=100, max_frames=4)
    assert [u is not None for u in urls] == [True, True, True] + [False] * 6 + [True]
    img = Image.open(io.BytesIO(base64.b64decode(urls[-1].split(",", 1)[1])))
    assert img.size == (67, 100) and img.getpixel((10, 10)) == (9, 9, 9)


def test_trainer_episodes_with_frames_and_prompts(tmp_path):
    recorder, frames = PromptRecorder(OraclePolicy()), []
    seeds = [7, 8, 9]
    episodes = play_episodes(recorder, seeds, frames)
    path = write_viewer(episodes, tmp_path / "sub" / "viewer.html", frames=frames, env_id="vlenvs/Maze2D-v0",
                        seeds=seeds, recorder=recorder, max_episodes=2, image_size=64)
    data = page_data(path.read_text())
    assert [e["seed"] for e in data["episodes"]] == [7, 8]
    for ep, src in zip(data["episodes"], episodes):
        assert ep["success"] and ep["length"] == src.length and len(ep["frames"]) == src.length + 1
        assert ep["turns"][0]["prompt"].startswith("Step 0. Instruction:") and "Maze2D" in ep["system"]
        assert [t["reply"] for t in ep["turns"]] == [r.output.text for r in src.records]
    assert path.stat().st_size < 60_000  # 2 short episodes at 64 px


def test_without_a_recorder_prompts_read_as_not_recorded(tmp_path):
    episodes = play_episodes(OraclePolicy(), [1])
    data = page_data(write_viewer(episodes, tmp_path / "v.html", env_id="vlenvs/Maze2D-v0").read_text())
    assert data["episodes"][0]["turns"][0]["prompt"] == "" and "frames" not in data["episodes"][0]
