"""What both PPO examples share: their common command-line flags, and what they print (evaluation
results and the one-line summary the tests read)."""

from __future__ import annotations

import argparse


def parser(description: str, record_help: str) -> argparse.ArgumentParser:
    """An argument parser with the flags both examples take."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--total-timesteps", type=int, default=150_000)
    p.add_argument("--preset", default="easy", help="Maze2D preset (easy: 5x5 grid, 2x2 cells)")
    p.add_argument("--num-envs", type=int, default=16)
    p.add_argument("--image-size", type=int, default=40, help="SB3's NatureCNN needs at least 36 pixels")
    p.add_argument("--eval-episodes", type=int, default=200)
    p.add_argument("--record", metavar="DIR", help=record_help)
    p.add_argument("--format", choices=("gif", "mp4"), default="gif", help="recording format")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 is fastest on a busy 2-core box)")
    return p


def print_progress(step: int, sps: float, returns, successes, lengths) -> None:
    """One training-progress line over the recent episodes."""
    print(f"step {step}: SPS {sps:.0f}, episodic return {sum(returns) / len(returns):.3f}, success "
          f"{sum(successes) / len(successes):.3f}, length {sum(lengths) / len(lengths):.2f} "
          f"(last {len(returns)} episodes)", flush=True)


def print_eval(label: str, stats: dict[str, float]) -> None:
    """One evaluation line: success rate, mean episode length and mean shortest-path length."""
    print(f"{label}: success {stats['success']:.3f}, mean length {stats['length']:.2f} "
          f"(shortest {stats['shortest']:.2f}) over {stats['episodes']} episodes", flush=True)


def print_summary(header: str, timesteps: int, seconds: float, before: dict, after: dict) -> dict[str, float]:
    """The last line, ``summary: key=value ...``; returns the values."""
    summary = {"timesteps": timesteps, "seconds": seconds, "sps": timesteps / seconds,
               "success_before": before["success"], "success_after": after["success"],
               "length_after": after["length"], "shortest": after["shortest"]}
    print(f"summary: {header} " +
          " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()), flush=True)
    return summary
