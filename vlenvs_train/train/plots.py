"""The run's pictures: a learning-curve PNG and a GIF of episodes before and after training."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

#: (row key, panel title) of the learning-curve panels.
STAGE_LABELS = {"eval_init": "init", "eval_sft": "SFT", "eval_final": "SFT+GRPO"}
PANELS = (("success_rate", "success rate"), ("mean_return", "mean return"), ("invalid_rate", "invalid-action rate"))


def learning_curve(rows: Sequence[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Success rate, reward and invalid-action rate vs GRPO step: training rollouts (line) and held-out
    evaluations (markers)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [r for r in rows if r["kind"] == "train"]
    evals = [r for r in rows if r["kind"] == "eval"]
    fig, axes = plt.subplots(1, len(PANELS), figsize=(4 * len(PANELS), 3.2))
    for ax, (key, name) in zip(axes, PANELS):
        if train:
            ax.plot([r["step"] for r in train], [r[key] for r in train], label="train rollouts (sampled)")
        if evals:
            ax.plot([r["step"] for r in evals], [r[f"eval_{key}"] for r in evals], "o--",
                    label="held-out eval (greedy)")
            for r in evals:
                if r.get("stage", "quick") != "quick":
                    ax.annotate(STAGE_LABELS.get(r["stage"], r["stage"]), (r["step"], r[f"eval_{key}"]), fontsize=7,
                                textcoords="offset points", xytext=(4, 4))
        ax.set_title(name)
        ax.set_xlabel("GRPO step")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
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
