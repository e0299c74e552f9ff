"""CleanRL-style single-file PPO (torch) on Maze2D over the native vlenvs vector env.

    python examples/cleanrl_ppo_maze2d.py --total-timesteps 150000 --preset easy --record outputs/cleanrl_maze2d

``gym.make_vec("vlenvs/Maze2D-v0", num_envs=n)`` steps all envs as one batch with Gymnasium's default
``NextStep`` autoreset: the step after an episode ends only resets that env (its action is ignored, its
reward is 0). That reset step is not a transition, so it is masked out of the loss, the advantage does not
flow across it, and a truncated episode bootstraps from the value of its final observation.
``VectorImageOnly(channels_first=True)`` gives ``uint8[N, 3, H, W]`` for the small CNN below. It prints
SPS and the episodic return / success rate while training, evaluates before (untrained, sampled) and after
(greedy), and ends with a one-line summary.
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import gymnasium as gym
import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

import vlenvs  # noqa: F401  (registers the vlenvs/... ids)
from _common import parser, print_eval, print_progress, print_summary  # examples/_common.py, beside this script
from vlenvs.wrappers import VectorImageOnly, VectorRecordEpisodes

ENV_ID = "vlenvs/Maze2D-v0"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__.split("\n")[0], "write every 100th training episode of env 0 here")
    p.add_argument("--num-steps", type=int, default=64, help="steps per env per rollout")
    p.add_argument("--learning-rate", type=float, default=5e-4)
    p.add_argument("--gamma", type=float, default=0.95)
    p.add_argument("--gae-lambda", type=float, default=0.95)
    p.add_argument("--num-minibatches", type=int, default=4)
    p.add_argument("--update-epochs", type=int, default=4)
    p.add_argument("--clip-coef", type=float, default=0.2)
    p.add_argument("--ent-coef", type=float, default=0.01)
    p.add_argument("--vf-coef", type=float, default=0.5)
    p.add_argument("--max-grad-norm", type=float, default=0.5)
    return p.parse_args(argv)


def make_envs(args: argparse.Namespace, record: bool = False) -> gym.vector.VectorEnv:
    envs = gym.make_vec(ENV_ID, num_envs=args.num_envs, preset=args.preset, image_size=args.image_size)
    if record and args.record:
        envs = VectorRecordEpisodes(envs, args.record, episode_trigger=100, format=args.format)
    return VectorImageOnly(envs, channels_first=True)


class Agent(nn.Module):
    """A small CNN torso with a policy and a value head."""

    def __init__(self, obs_shape: tuple[int, ...], num_actions: int) -> None:
        super().__init__()
        self.torso = nn.Sequential(
            nn.Conv2d(obs_shape[0], 32, 4, stride=4), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
        )
        with torch.no_grad():
            width = self.torso(torch.zeros(1, *obs_shape)).shape[1]
        self.torso.append(nn.Linear(width, 256))
        self.torso.append(nn.ReLU())
        self.actor, self.critic = nn.Linear(256, num_actions), nn.Linear(256, 1)
        nn.init.orthogonal_(self.actor.weight, 0.01)
        nn.init.zeros_(self.actor.bias)

    def features(self, obs: torch.Tensor) -> torch.Tensor:
        return self.torso(obs.float() / 255.0)

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(self.features(obs)).squeeze(-1)

    def act(self, obs: torch.Tensor, action: torch.Tensor | None = None, greedy: bool = False):
        h = self.features(obs)
        dist = Categorical(logits=self.actor(h))
        if action is None:
            action = dist.logits.argmax(-1) if greedy else dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.critic(h).squeeze(-1)


class EpisodeStats:
    """Return, length and success of finished episodes, NextStep-aware (reset steps are not counted)."""

    def __init__(self, num_envs: int, window: int | None = None) -> None:
        self.ret, self.len = np.zeros(num_envs), np.zeros(num_envs, dtype=int)
        self.returns, self.lengths, self.successes, self.shortest = (deque(maxlen=window) for _ in range(4))

    def update(self, valid: np.ndarray, reward: np.ndarray, done: np.ndarray, info: dict, take: np.ndarray) -> None:
        self.ret += reward * valid
        self.len += valid
        for i in np.flatnonzero(done & take):
            self.returns.append(self.ret[i])
            self.lengths.append(self.len[i])
            self.successes.append(bool(info["success"][i]))
            self.shortest.append(info["shortest_path_length"][i])
        self.ret[done], self.len[done] = 0.0, 0


def evaluate(agent: Agent, args: argparse.Namespace, seed: int, greedy: bool, device: torch.device) -> dict:
    """The first episodes of every env of a fresh vector env (the same number from each)."""
    envs = make_envs(args)
    quota = -(-args.eval_episodes // args.num_envs)
    stats, count = EpisodeStats(args.num_envs), np.zeros(args.num_envs, dtype=int)
    obs, _ = envs.reset(seed=seed)
    done = np.zeros(args.num_envs, dtype=bool)
    while count.min() < quota:
        with torch.no_grad():
            action = agent.act(torch.as_tensor(obs, device=device), greedy=greedy)[0].cpu().numpy()
        obs, reward, term, trunc, info = envs.step(action)
        valid, done = ~done, term | trunc
        stats.update(valid, reward, done, info, count < quota)
        count += done
    envs.close()
    return {"episodes": len(stats.successes), "success": float(np.mean(stats.successes)),
            "length": float(np.mean(stats.lengths)),
            "shortest": float(np.mean(stats.shortest))}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    n, T = args.num_envs, args.num_steps
    batch_size = n * T
    iterations = max(1, args.total_timesteps // batch_size)

    envs = make_envs(args, record=True)
    obs_shape = envs.single_observation_space.shape
    agent = Agent(obs_shape, int(envs.single_action_space.n)).to(device)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    before = evaluate(agent, args, 10_000, greedy=False, device=device)
    print_eval("before training (sampled)", before)

    obs = torch.zeros((T, n, *obs_shape), dtype=torch.uint8, device=device)
    actions, logprobs, rewards, values = (torch.zeros((T, n), device=device) for _ in range(4))
    terminated, dones, valid = (torch.zeros((T, n), device=device) for _ in range(3))
    stats = EpisodeStats(n, window=100)
    next_obs = torch.as_tensor(envs.reset(seed=args.seed)[0], device=device)
    next_done = np.zeros(n, dtype=bool)
    global_step, start = 0, time.perf_counter()

    for iteration in range(1, iterations + 1):
        for g in optimizer.param_groups:  # linear learning-rate annealing
            g["lr"] = (1.0 - (iteration - 1) / iterations) * args.learning_rate
        for t in range(T):
            global_step += n
            obs[t] = next_obs
            valid[t] = torch.as_tensor(~next_done, device=device, dtype=torch.float32)  # False: a reset step
            with torch.no_grad():
                action, logprob, _, value = agent.act(next_obs)
            actions[t], logprobs[t], values[t] = action, logprob, value
            o, reward, term, trunc, info = envs.step(action.cpu().numpy())
            stats.update(~next_done, reward, term | trunc, info, np.ones(n, dtype=bool))
            next_obs, next_done = torch.as_tensor(o, device=device), term | trunc
            rewards[t] = torch.as_tensor(reward, device=device, dtype=torch.float32)
            terminated[t] = torch.as_tensor(term, device=device, dtype=torch.float32)
            dones[t] = torch.as_tensor(next_done, device=device, dtype=torch.float32)

        with torch.no_grad():  # GAE; values[t + 1] of a finished step is the value of its final observation
            next_value = agent.value(next_obs)
            advantages, last = torch.zeros_like(rewards), torch.zeros(n, device=device)
            for t in reversed(range(T)):
                following = next_value if t == T - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * following * (1.0 - terminated[t]) - values[t]
                last = delta + args.gamma * args.gae_lambda * (1.0 - dones[t]) * last
                advantages[t] = last
            returns = advantages + values

        b_obs, b_actions = obs.reshape(-1, *obs_shape), actions.reshape(-1)
        b_logprobs, b_adv, b_returns = logprobs.reshape(-1), advantages.reshape(-1), returns.reshape(-1)
        b_idx = torch.nonzero(valid.reshape(-1)).squeeze(-1).cpu().numpy()  # real transitions only
        minibatch = max(1, len(b_idx) // args.num_minibatches)
        for _ in range(args.update_epochs):
            np.random.shuffle(b_idx)
            for s in range(0, len(b_idx), minibatch):
                mb = torch.as_tensor(b_idx[s:s + minibatch], device=device)
                _, newlogprob, entropy, newvalue = agent.act(b_obs[mb], b_actions[mb].long())
                ratio = (newlogprob - b_logprobs[mb]).exp()
                adv = b_adv[mb]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8) if len(mb) > 1 else adv
                pg_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                v_loss = 0.5 * ((newvalue - b_returns[mb]) ** 2).mean()
                loss = pg_loss - args.ent_coef * entropy.mean() + args.vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        sps = global_step / (time.perf_counter() - start)
        if stats.returns and (iteration % 10 == 0 or iteration == iterations):
            print_progress(global_step, sps, stats.returns, stats.successes, stats.lengths)
    seconds = time.perf_counter() - start
    envs.close()

    after = evaluate(agent, args, 20_000, greedy=True, device=device)
    print_eval("after training (greedy)", after)
    return print_summary(f"library=cleanrl preset={args.preset}", global_step, seconds, before, after)


if __name__ == "__main__":
    main()
