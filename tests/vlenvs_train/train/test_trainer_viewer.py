"""The trainer's held-out evaluations write their trajectory viewers (``OUT/viewer_<stage>.html``): the episodes'
replies, prompts and frames, on the sync path and on the pipeline, without changing any result."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs_train.train import backends  # noqa: E402
from vlenvs_train.train.trainer import Trainer  # noqa: E402

from ..viewer.test_render import page_data  # noqa: E402
from .test_trainer import rows_without_times, small_config  # noqa: E402

#: Greedy evaluations (the default) of a sampler that trains at temperature 1: an evaluation that ran under the
#: wrong temperature (or perturbed the sampler's seeds) would change the rows.
SHORT = ["sft.epochs=0", "grpo.iterations=1", "eval.every=0", "eval.episodes=4", "eval.gif_episodes=1"]
STAGES = ["eval_init", "rl", "eval_final"]


@pytest.fixture
def eval_episodes(monkeypatch):
    """The held-out evaluations' episodes, in the order the trainer got them."""
    seen = []
    real = backends.episode_metrics

    def record(episodes, prefix=""):
        if prefix == "eval_":
            seen.append(list(episodes))
        return real(episodes, prefix)

    monkeypatch.setattr(backends, "episode_metrics", record)
    return seen


def assert_shows(path, episodes, seeds, tokenizer):
    """The viewer at ``path`` shows ``episodes`` (seeded ``seeds``): replies, actions, frames, and the prompts
    the model was given (found in the decoded prompt tokens of each turn)."""
    shown = page_data(path.read_text())["episodes"]
    assert [e["seed"] for e in shown] == seeds
    for page, ep in zip(shown, episodes):
        assert [t["reply"] for t in page["turns"]] == [r.output.text for r in ep.records]
        assert [t["valid"] for t in page["turns"]] == [r.valid for r in ep.records]
        for turn, rec in zip(page["turns"], ep.records):
            seen = tokenizer.decode(rec.output.prompt_ids)
            assert len(turn["prompt"]) > 20 and turn["prompt"] in seen and page["system"] in seen
        assert page["system"].startswith("Maze2D. Actions: up down left right.")
        assert len(page["frames"]) == ep.length + 1 and page["frames"][0].startswith("data:image/png;base64,")


def test_held_out_evaluations_write_viewers_and_change_no_result(tmp_path, tiny_model_path, eval_episodes):
    runs = {}
    for shown in (3, 0):
        trainer = Trainer(small_config(tmp_path, tiny_model_path, f"viewer{shown}",
                                       [*SHORT, f"eval.viewer_episodes={shown}"]), STAGES)
        trainer.run()
        runs[shown] = trainer
    seen, with_viewer, without = eval_episodes[:2], runs[3], runs[0]
    seeds = [with_viewer.config.eval.seed + k for k in range(3)]
    for stage, episodes in zip(("eval_init", "eval_final"), seen):
        assert_shows(with_viewer.out / f"viewer_{stage}.html", episodes, seeds, with_viewer.encoder.tokenizer)
    assert sorted(p.name for p in with_viewer.out.glob("viewer_*")) == ["viewer_eval_final.html",
                                                                         "viewer_eval_init.html"]
    assert list(without.out.glob("viewer_*")) == []

    # bit-identical: evaluation rows and training rows, weights, the sampler's state; the GIF keeps its 1 episode
    assert rows_without_times(with_viewer.out / "metrics.jsonl") == rows_without_times(without.out / "metrics.jsonl")
    for (name, a), b in zip(with_viewer.model.state_dict().items(), without.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert with_viewer.sampler.state_dict() == without.sampler.state_dict()
    assert [len(f) for f in with_viewer.state["frames"].values()] == [1, 1]
    for stage, frames in without.state["frames"].items():
        assert all((a == b).all() for x, y in zip(frames, with_viewer.state["frames"][stage]) for a, b in zip(x, y))


def test_the_pipeline_records_the_prompts_from_its_shard_threads(tmp_path, tiny_model_path, eval_episodes):
    extra = [*SHORT, "eval.viewer_episodes=4", "rollout.backend=inline", "rollout.num_workers=1",
             "rollout.num_shards=2"]
    trainer = Trainer(small_config(tmp_path, tiny_model_path, "piped", extra), ["eval_init"])
    trainer.run()
    (episodes,) = eval_episodes
    assert_shows(trainer.out / "viewer_eval_init.html", episodes, [trainer.config.eval.seed + k for k in range(4)],
                 trainer.encoder.tokenizer)
    assert sum(e.length for e in episodes) > 4  # several turns per episode: the shards' calls interleaved
