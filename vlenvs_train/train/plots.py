"""The run's pictures: a learning-curve PNG and a GIF of episodes before and after training."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

STAGE_LABELS = {"eval_init": "init", "eval_sft": "SFT", "eval_final": "SFT+GRPO"}
#: (row key, panel title) of the outcome panels: training rollouts and held-out evaluations (``eval_<key>``).
PANELS = (("success_rate", "success rate"), ("mean_return", "mean return"), ("invalid_rate", "invalid-action rate"),
          ("reply_tokens", "reply length (tokens)"))
#: (panel title, ((train row key, line label), ...)) of the GRPO diagnostics panels (training iterations only; an
#: iteration without an update, every group without signal, has no update statistics and leaves a gap).
DIAGNOSTICS = (
    ("learning signal", (("signal_frac", "groups with signal"), ("adv_abs_mean", "mean |advantage|"))),
    ("importance weight", (("is_weight", "mean (truncated)"), ("is_weight_max", "max (untruncated)"))),
    ("PPO clip fraction", (("clip_frac", "clipped tokens"),)),
    ("policy entropy (nats/token)", (("entropy", "update pass"),)),
)


def _series(rows: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """Steps and values of the rows that have ``key``."""
    have = [r for r in rows if isinstance(r.get(key), (int, float))]
    return [r["step"] for r in have], [r[key] for r in have]


def learning_curve(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Top row: success rate, reward, invalid-action rate and reply length vs GRPO step: training rollouts
    (line) and held-out evaluations (markers; squares: on the test env, ``eval.test_kwargs``). Bottom row, GRPO's diagnostics per iteration: fraction of groups
    with signal and mean |advantage|, importance weights, clip fraction, policy entropy."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval" and not str(r.get("stage", "")).endswith("_test")]
    tests = [r for r in rows if r["kind"] == "eval" and str(r.get("stage", "")).endswith("_test")]
    cols = max(len(PANELS), len(DIAGNOSTICS))
    fig, axes = plt.subplots(2, cols, figsize=(4 * cols, 6.4), squeeze=False)
    for ax, (key, name) in zip(axes[0], PANELS):
        if train:
            ax.plot(*_series(train, key), label="train rollouts (sampled)")
        steps, values = _series(evals, f"eval_{key}")
        if steps:
            ax.plot(steps, values, "o--", label="held-out eval (greedy)")
            for r in evals:
                if r.get("stage", "quick") != "quick" and f"eval_{key}" in r:
                    ax.annotate(STAGE_LABELS.get(r["stage"], r["stage"]), (r["step"], r[f"eval_{key}"]), fontsize=7,
                                textcoords="offset points", xytext=(4, 4))
        steps, values = _series(tests, f"eval_{key}")
        if steps:
            ax.plot(steps, values, "s", label="held-out eval, test env (greedy)")
        ax.set_title(name)
    for ax, (name, lines) in zip(axes[1], DIAGNOSTICS):
        for key, label in lines:
            steps, values = _series(train, key)
            if steps:
                ax.plot(steps, values, ".-", markersize=3, label=label)
        if len(lines) > 1 and ax.get_lines():
            ax.legend(fontsize=7)
        ax.set_title(name)
    for ax in axes.flat:
        ax.set_xlabel("GRPO step")
        ax.grid(alpha=0.3)
    if axes[0][0].get_lines():
        axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _tile(frame: np.ndarray, side: int) -> Image.Image:
    return Image.fromarray(frame).resize((side, side), Image.NEAREST)


def episodes_gif(before: Sequence[Sequence[np.ndarray]], after: Sequence[Sequence[np.ndarray]], path: str | Path,
                 side: int = 96, ms_per_frame: int = 400) -> Path:
    """Two rows of episodes (``before`` and ``after`` training, each a list of frame lists) played side by
    side; episodes that end early hold their last frame."""
    labels = (("before", before), ("after", after))
    cols = max(len(before), len(after), 1)
    length = max([len(e) for _, eps in labels for e in eps] + [1])
    label_w = 48
    frames = []
    for t in range(length + 2):  # hold the final frame a little
        canvas = Image.new("RGB", (label_w + cols * (side + 4), 2 * (side + 4)), (255, 255, 255))
        draw = ImageDraw.Draw(canvas)
        for row, (name, eps) in enumerate(labels):
            draw.text((2, row * (side + 4) + side // 2 - 5), name, fill=(0, 0, 0))
            for col, ep in enumerate(eps):
                if len(ep):
                    canvas.paste(_tile(ep[min(t, len(ep) - 1)], side), (label_w + col * (side + 4), row * (side + 4)))
        frames.append(canvas)
    path = Path(path)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=ms_per_frame, loop=0)
    return path
