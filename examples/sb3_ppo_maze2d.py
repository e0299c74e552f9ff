"""Stable-Baselines3 PPO on Maze2D, stepping the native vlenvs vector env through SB3VecEnv.

    python examples/sb3_ppo_maze2d.py --total-timesteps 150000 --preset easy --record outputs/sb3_maze2d

The env chain: ``gym.make_vec(..., autoreset_mode="SameStep")`` (SB3 wants the reset observation in the
step that ends an episode) -> ``VectorImageOnly`` (``CnnPolicy``) or ``VectorInstructionIds``
(``MultiInputPolicy``) -> ``SB3VecEnv`` (the whole batch in one call) -> SB3's ``VecMonitor``. SB3 feeds
Box observations to its MLP as raw floats, and raw character ids drown the image features (measured: no
learning), so ``MultiInputPolicy`` gets a small extractor that embeds the ids (a bag of characters). The policy
is evaluated before training (untrained, sampled actions: about a random walk) and after (greedy), on
fresh episodes; ``--record DIR`` writes a few of those evaluation episodes as GIF/MP4. The last line
printed is a one-line summary.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, NatureCNN
from stable_baselines3.common.vec_env import VecEnv, VecMonitor
from torch import nn

import vlenvs  # noqa: F401  (registers the vlenvs/... ids)
from _common import parser, print_eval, print_progress, print_summary  # examples/_common.py, beside this script
from vlenvs.wrappers import SB3VecEnv, VectorImageOnly, VectorInstructionIds, VectorRecordEpisodes

ENV_ID = "vlenvs/Maze2D-v0"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__.split("\n")[0], "write 3 evaluation episodes before and after training here")
    p.add_argument("--policy", choices=("cnn", "multi"), default="cnn",
                   help="cnn: CnnPolicy on the image; multi: MultiInputPolicy on image + instruction ids")
    p.add_argument("--sb3-defaults", action="store_true",
                   help="SB3's default PPO settings (n_steps=2048, batch_size=64, n_epochs=10, gamma=0.99, "
                        "features_dim=512) instead of this example's, to compare the two")
    return p.parse_args(argv)


def ppo_kwargs(args: argparse.Namespace) -> dict:
    """This example's PPO settings: short rollouts (128 steps x num_envs), large minibatches, few epochs, a
    small CNN head; or, with ``--sb3-defaults``, only what the policy kind needs."""
    policy_kwargs = {} if args.policy == "cnn" else {"features_extractor_class": ImageAndInstruction, "net_arch": []}
    if args.sb3_defaults:
        return {"policy_kwargs": policy_kwargs}
    n_steps = max(8, min(128, args.total_timesteps // args.num_envs))
    if args.policy == "cnn":
        policy_kwargs = {"features_extractor_kwargs": {"features_dim": 128}}
    return {"n_steps": n_steps, "batch_size": min(256, n_steps * args.num_envs), "n_epochs": 4,
            "learning_rate": 3e-4, "gamma": 0.95, "ent_coef": 0.01, "policy_kwargs": policy_kwargs}


def make_env(args: argparse.Namespace, seed: int, record_as: str | None = None) -> VecEnv:
    venv = gym.make_vec(ENV_ID, num_envs=args.num_envs, autoreset_mode="SameStep", preset=args.preset,
                        image_size=args.image_size)
    if record_as and args.record:
        venv = VectorRecordEpisodes(venv, args.record, episode_trigger=lambda k: k < 3, format=args.format,
                                    name_prefix=record_as)
    venv = VectorImageOnly(venv) if args.policy == "cnn" else VectorInstructionIds(venv)
    env = VecMonitor(SB3VecEnv(venv))
    env.seed(seed)
    return env


class ImageAndInstruction(BaseFeaturesExtractor):
    """NatureCNN on the image, and the mean of learned character embeddings of the instruction ids."""

    def __init__(self, observation_space: gym.spaces.Dict, cnn_dim: int = 128, embed_dim: int = 32) -> None:
        super().__init__(observation_space, cnn_dim + embed_dim)
        self.cnn = NatureCNN(observation_space["image"], features_dim=cnn_dim)
        pad = int(observation_space["instruction"].high.max())  # the padding id is len(charset)
        self.embed = nn.EmbeddingBag(pad + 1, embed_dim, mode="mean", padding_idx=pad)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat([self.cnn(obs["image"]), self.embed(obs["instruction"].long())], dim=1)


class Progress(BaseCallback):
    """Print SPS and the recent episodic return / success rate every ``every`` rollouts."""

    def __init__(self, every: int = 10) -> None:
        super().__init__()
        self.every, self.rollouts, self.start = every, 0, time.perf_counter()

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.rollouts += 1
        episodes, successes = self.model.ep_info_buffer, self.model.ep_success_buffer
        if self.rollouts % self.every == 0 and episodes:
            sps = self.num_timesteps / (time.perf_counter() - self.start)
            print_progress(self.num_timesteps, sps, [e["r"] for e in episodes], successes, [e["l"] for e in episodes])


def evaluate(model: PPO, env: VecEnv, episodes: int, deterministic: bool) -> dict[str, float]:
    """Success rate, mean episode length and mean shortest-path length over the first episodes of every env
    (the same number from each, so quickly finished episodes are not over-counted)."""
    quota = -(-episodes // env.num_envs)
    done_count = np.zeros(env.num_envs, dtype=int)
    success, length, shortest = [], [], []
    obs = env.reset()
    while done_count.min() < quota:
        actions, _ = model.predict(obs, deterministic=deterministic)
        obs, _, dones, infos = env.step(actions)
        for i in np.flatnonzero(dones & (done_count < quota)):
            success.append(infos[i]["is_success"])
            length.append(infos[i]["episode"]["l"])
            shortest.append(infos[i]["shortest_path_length"])
        done_count += dones
    env.close()  # writes the recordings still open
    return {"episodes": len(success), "success": float(np.mean(success)), "length": float(np.mean(length)),
            "shortest": float(np.mean(shortest))}


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    train_env = make_env(args, args.seed)
    policy = "CnnPolicy" if args.policy == "cnn" else "MultiInputPolicy"
    model = PPO(policy, train_env, seed=args.seed, verbose=0, **ppo_kwargs(args))

    before = evaluate(model, make_env(args, 10_000, "untrained"), args.eval_episodes, deterministic=False)
    print_eval("before training (sampled)", before)
    start = time.perf_counter()
    model.learn(total_timesteps=args.total_timesteps, callback=Progress())
    seconds = time.perf_counter() - start
    after = evaluate(model, make_env(args, 20_000, "trained"), args.eval_episodes, deterministic=True)
    print_eval("after training (greedy)", after)
    header = f"library=sb3 policy={policy} preset={args.preset} settings={'sb3_defaults' if args.sb3_defaults else 'example'}"
    return print_summary(header, model.num_timesteps, seconds, before, after)


if __name__ == "__main__":
    main()
