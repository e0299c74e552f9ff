"""The trajectory viewer in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Skipped only where chromium or playwright is missing (CI installs both: ``apt-get install -y chromium``).
"""

from __future__ import annotations

import json
import shutil

import pytest

from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.evaluation import EnvEntry, EvalRunConfig, run_eval
from vlenvs_train.policies.base import PolicyOutput
from vlenvs_train.policies.oracle import OraclePolicy
from vlenvs_train.rollout.envs import EnvFactory
from vlenvs_train.rollout.play import play_many
from vlenvs_train.viewer import PromptRecorder, write_viewer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


class SometimesConfused:
    """The env's oracle, except every third reply, which names no action (an invalid, unparseable reply)."""

    def __init__(self):
        self.oracle, self.n = OraclePolicy(), 0

    def generate(self, requests):
        out = []
        for o in self.oracle.generate(requests):
            self.n += 1
            out.append(PolicyOutput("hmm, north-east?", o.prompt_ids, o.response_ids, o.logprobs) if self.n % 3 == 0
                       else o)
        return out


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    config = EvalRunConfig(envs=(EnvEntry("vlenvs/Maze2D-v0", "easy", {"max_steps": 3}),), out=str(out), episodes=8,
                           batch=8, viewer_episodes=8, agent=AgentConfig(answer_format="answer"))
    run_eval(config, policy=SometimesConfused(), log=lambda s: None)
    recs = [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]
    assert {r["success"] for r in recs} == {True, False}, "the test needs successes and failures"
    return out, recs


@pytest.fixture
def browser_page(tmp_path):
    """A page of a headless Chromium, and the JavaScript errors it raised (checked empty at the end)."""
    errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                       headless=True, args=FLAGS, viewport={"width": 1280, "height": 800})
        page = browser.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page
        browser.close()
    assert errors == []


def test_click_and_key_through_episodes_and_filter_failures(evaluated, browser_page, tmp_path):
    out, recs = evaluated
    page = browser_page
    page.goto((out / "viewer.html").as_uri())
    text = page.text_content

    assert page.locator("nav .ep").count() == 8
    first = recs[0]
    assert text("#episode-title") == f"{first['env']} · seed {first['seed']}"
    assert text("#turn-counter") == f"Turn 1 / {first['length']}"
    assert text("#reply") == first["turns"][0]["reply"] and text("#prompt") == first["turns"][0]["prompt"]
    assert page.eval_on_selector("#frame-box img", "i => i.complete && i.naturalWidth") == 128

    # keyboard: down/up step episodes, right/left step turns
    k = next(k for k, r in enumerate(recs) if r["length"] > 1)
    for _ in range(k):
        page.keyboard.press("ArrowDown")
    long = recs[k]
    assert text("#episode-title").endswith(f"seed {long['seed']}")
    page.keyboard.press("ArrowRight")
    assert text("#turn-counter") == f"Turn 2 / {long['length']}" and text("#reply") == long["turns"][1]["reply"]
    assert text("#action") == long["turns"][1]["action"] or not long["turns"][1]["valid"]
    page.keyboard.press("ArrowLeft")
    assert text("#turn-counter") == f"Turn 1 / {long['length']}"
    page.keyboard.press("ArrowUp")
    assert text("#episode-title").endswith(f"seed {recs[max(k - 1, 0)]['seed']}")

    # clicks: an episode with an invalid reply, then that turn's chip; the parse error and fallback show
    k, t = next((k, t) for k, r in enumerate(recs) for t, turn in enumerate(r["turns"]) if not turn["valid"])
    page.click(f"nav .ep >> nth={k}")
    page.click(f".turn-chip >> nth={t}")
    turn = recs[k]["turns"][t]
    assert text("#turn-counter") == f"Turn {t + 1} / {recs[k]['length']}"
    assert text("#reply") == "hmm, north-east?" and text("#parse-error") == turn["parse_error"] != ""
    assert text("#action") == f"{turn['action']} (fallback: the reply was invalid)"
    assert text("#reward") == f"{turn['reward']:.3f}" and text("#feedback") == (turn["feedback"] or "—")
    if t + 1 < recs[k]["length"]:
        page.click("#next")
        assert text("#turn-counter") == f"Turn {t + 2} / {recs[k]['length']}"

    # filter: failures hidden when showing successes, and the other way round
    page.select_option("#filter", "success")
    wins = [r for r in recs if r["success"]]
    assert page.locator("nav .ep").count() == len(wins) == page.locator("nav .ep.success").count()
    assert text("#episode .ok") == "success"
    page.select_option("#filter", "failure")
    assert page.locator("nav .ep").count() == len(recs) - len(wins) == page.locator("nav .ep.failure").count()
    assert text("#episode .bad") == "failure"
    page.screenshot(path=str(tmp_path / "viewer.png"), full_page=True)
    assert (tmp_path / "viewer.png").stat().st_size > 10_000


def test_episode_objects_with_recorded_prompts_show_as_the_trainer_writes_them(browser_page, tmp_path):
    """The trainer's path: Episode objects, their frames and a PromptRecorder (not evaluation records)."""
    recorder, frames, seeds = PromptRecorder(SometimesConfused()), [], [3, 4]
    episodes = play_many(EnvFactory("vlenvs/Maze2D-v0", {"max_steps": 3}, "easy"), AgentConfig(answer_format="answer"),
                         recorder, seeds, 2, frames)
    path = write_viewer(episodes, tmp_path / "viewer_eval_final.html", title="run: eval_final", frames=frames,
                        env_id="vlenvs/Maze2D-v0", seeds=seeds, recorder=recorder)
    page, text = browser_page, browser_page.text_content
    page.goto(path.as_uri())
    assert page.title() == "run: eval_final" and page.locator("nav .ep").count() == 2
    for k, ep in enumerate(episodes):
        page.click(f"nav .ep >> nth={k}")
        assert text("#episode-title") == f"Maze2D-v0 · seed {seeds[k]}"
        for t, rec in enumerate(ep.records):
            page.click(f".turn-chip >> nth={t}")
            system, prompt, _ = recorder.prompt_of(rec.output)
            assert text("#prompt") == prompt != "" and text("#reply") == rec.output.text
            assert text("#system") == system != ""
        assert page.locator(".turn-chip").count() == ep.length
    assert page.eval_on_selector("#frame-box img", "i => i.complete && i.naturalWidth") > 0
