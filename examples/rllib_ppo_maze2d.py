"""RLlib PPO on Maze2D, on CPU (Ray RLlib's new API stack: EnvRunners + Learner, torch).

    python examples/rllib_ppo_maze2d.py --iterations 20 --preset easy

What RLlib needs from a vlenvs env, and how this script gives it:

- **Registration in remote runners.** RLlib builds the env inside each EnvRunner (a separate Ray worker
  process), where ``import vlenvs`` never ran, so the bare id ``"vlenvs/Maze2D-v0"`` is unknown there. The
  script registers an env *creator* with ``ray.tune.registry.register_env``; Ray ships it to every runner,
  and it imports vlenvs (registering the ids) before ``gym.make``. (Plain ``gym.make`` in a fresh process
  also works with the module-prefixed id ``"vlenvs:vlenvs/Maze2D-v0"``.)
- **No Text space, float images.** RLlib's default encoders take Box observations only and feed images to a
  CNN as floats: ``ImageOnly(env, normalize=True)`` drops the instruction (Maze2D draws the goal in the
  image) and gives ``float32[H, W, 3]`` in ``[0, 1]``.
- **A CNN for the image size.** RLlib picks default conv filters only for a few image sizes (84, 64, 42, ...);
  the script sets small filters for any size of at least 16 pixels.

The success rate is logged from ``info["is_success"]`` at each episode end (``on_episode_end``). Each
iteration prints one line; the last line is a ``summary: library=rllib ...`` line.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium as gym

ENV_ID = "vlenvs/Maze2D-v0"
ENV_NAME = "vlenvs-maze2d-image"  # the name the creator is registered under in Ray


def make_env(env_config: dict[str, Any]) -> gym.Env:
    """The env creator Ray ships to every EnvRunner: Maze2D with float images and no Text space."""
    import vlenvs  # noqa: F401  (registers the vlenvs/... ids in this worker process)
    from vlenvs.wrappers import ImageOnly

    return ImageOnly(gym.make(ENV_ID, **env_config), normalize=True)


def log_success(*, episode: Any, metrics_logger: Any = None, **_: Any) -> None:
    """``on_episode_end``: log the episode's ``is_success`` (vlenvs reports it at every episode end)."""
    info = episode.get_infos(-1)
    if metrics_logger is not None and "is_success" in info:
        metrics_logger.log_value("success_rate", float(info["is_success"]), reduce="mean", window=100)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=20, help="PPO training iterations")
    p.add_argument("--preset", default="easy", help="Maze2D preset (easy: 5x5 grid, 2x2 cells)")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--num-env-runners", type=int, default=1, help="remote EnvRunner workers (0: sample locally)")
    p.add_argument("--num-envs", type=int, default=8, help="envs per EnvRunner")
    p.add_argument("--batch-size", type=int, default=2048, help="env steps per training iteration")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--num-cpus", type=int, default=2, help="CPUs Ray may use")
    return p.parse_args(argv)


def build_config(args: argparse.Namespace) -> Any:
    from ray.rllib.algorithms.ppo import PPOConfig
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig

    env_config = {"preset": args.preset, "image_size": args.image_size}
    return (
        PPOConfig()
        .environment(ENV_NAME, env_config=env_config)
        .framework("torch")
        .env_runners(num_env_runners=args.num_env_runners, num_envs_per_env_runner=args.num_envs,
                     num_cpus_per_env_runner=1)
        .learners(num_learners=0)
        .training(train_batch_size_per_learner=args.batch_size, minibatch_size=min(256, args.batch_size),
                  num_epochs=4, lr=3e-4, gamma=0.95, entropy_coeff=0.01)
        .rl_module(model_config=DefaultModelConfig(
            conv_filters=[[16, [4, 4], 2], [32, [4, 4], 2], [64, [3, 3], 1]],
            head_fcnet_hiddens=[128]))
        .callbacks(on_episode_end=log_success)
        .debugging(seed=args.seed, log_level="ERROR")
    )


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    import ray
    from ray.tune.registry import register_env

    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        register_env(ENV_NAME, make_env)
        algo = build_config(args).build_algo()
        start = time.perf_counter()
        runners: dict[str, Any] = {}
        for it in range(1, args.iterations + 1):
            result = algo.train()
            runners = result["env_runners"]
            steps = int(result["num_env_steps_sampled_lifetime"])
            print(f"iteration {it}: steps {steps}, episode return {runners.get('episode_return_mean', float('nan')):.3f}, "
                  f"success {runners.get('success_rate', float('nan')):.3f}, "
                  f"length {runners.get('episode_len_mean', float('nan')):.2f}", flush=True)
        seconds = time.perf_counter() - start
        algo.stop()
    finally:
        ray.shutdown()
    summary = {"iterations": args.iterations, "timesteps": steps, "seconds": seconds, "sps": steps / seconds,
               "episode_return_mean": float(runners.get("episode_return_mean", float("nan"))),
               "success_rate": float(runners.get("success_rate", float("nan")))}
    print("summary: library=rllib policy=PPO preset=" + args.preset + " " +
          " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary.items()), flush=True)
    return summary


if __name__ == "__main__":
    main()
