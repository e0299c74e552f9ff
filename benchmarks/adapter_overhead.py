"""Adapter overhead per env step, and rollout steps/s with the tiny model for each available backend.

Part 1 (one core, pinned): what the adapter adds to every env step without any model — prompt building,
image encoding (lossless base64 PNG, as sent to a server) and parsing — by driving ``BatchedAgent.act`` +
``observe`` with a canned policy that encodes every image of every prompt. Target: >= 5,000 env-steps/s.

Part 2: full rollouts (``collect_episodes``) on Maze2D with the tiny model: the transformers backend always;
the vLLM engine and a local vLLM server too when run with ``--vllm`` in the vLLM environment
(``.venv-vllm/bin/python benchmarks/adapter_overhead.py --vllm``).

    python benchmarks/adapter_overhead.py [--quick] [--vllm]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks._common import machine_context, median_rate, pin_one_core, table  # noqa: E402

import vlenvs  # noqa: E402,F401
from vlenvs_train.adapter.agent import AgentConfig, BatchedAgent  # noqa: E402
from vlenvs_train.adapter.prompts import png_data_url, to_openai_messages  # noqa: E402
from vlenvs_train.policies.base import PolicyOutput, SamplingConfig  # noqa: E402
from vlenvs_train.rollout.collect import collect_episodes  # noqa: E402

REPLIES = ("<think>The goal is above me.</think><answer>up</answer>", "<answer>Left</answer>", "Answer: south",
           "I think I should go right", "<answer>jump</answer>")
_EMPTY_I, _EMPTY_F = np.zeros(0, np.int64), np.zeros(0, np.float32)


class EncodingCannedPolicy:
    """No model: encodes each prompt's images as a server client would, then returns canned replies."""

    def __init__(self) -> None:
        self.k = 0

    def generate(self, requests):
        out = []
        for r in requests:
            to_openai_messages(r.messages)
            self.k += 1
            out.append(PolicyOutput(REPLIES[self.k % len(REPLIES)], _EMPTY_I, _EMPTY_I, _EMPTY_F))
        return out


def overhead_rows(num_envs: int, repeats: int) -> list[list[object]]:
    rows = []
    for image_size, history in ((32, 0), (64, 0), (128, 0), (128, 2)):
        env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=num_envs, size=9, image_size=image_size)
        obs, info = env.reset(seed=0)
        _, reward, term, trunc, info2 = env.step(np.zeros(num_envs, dtype=np.int64))
        cfg = AgentConfig(history_turns=history, history_images=history > 0)
        agent = BatchedAgent(EncodingCannedPolicy(), env, cfg)

        def full() -> int:
            agent.act(obs, info)
            agent.observe(reward, term, trunc, info2)
            return num_envs

        def prompts() -> int:
            agent.requests(obs, info, np.arange(num_envs))
            return num_envs

        images = list(obs["image"])

        def encode() -> int:
            for im in images:
                png_data_url(im)
            return num_envs

        replies = [REPLIES[i % len(REPLIES)] for i in range(num_envs)]

        def parse() -> int:
            for t in replies:
                agent.parser.parse(t)
            return num_envs

        for _ in range(history):  # fill the history window
            full()
        rates = [median_rate(fn, repeats=repeats) for fn in (full, prompts, encode, parse)]
        label = f"Maze2D {image_size}x{image_size}, history {history}" + (" (+images)" if history else "")
        rows.append([label, *rates])
    return rows


def rollout_rate(policy, num_envs: int, episodes: int) -> tuple[float, float]:
    env = gym.make_vec("vlenvs/Maze2D-v0", num_envs=num_envs, size=5, image_size=32, max_steps=4)
    agent = BatchedAgent(policy, env, AgentConfig())
    collect_episodes(env, agent, num_episodes=num_envs, seed=123)  # warm-up
    t0 = time.perf_counter()
    eps = collect_episodes(env, agent, num_episodes=episodes, seed=0)
    dt = time.perf_counter() - t0
    steps = sum(e.length for e in eps)
    return steps / dt, float(np.mean([len(r.response_ids) for e in eps for r in e.records]))


def rollout_rows(args, tmp: Path) -> list[list[object]]:
    import torch

    from vlenvs_train.models.tiny import build_tiny_vlm
    from vlenvs_train.policies.hf import HFPolicy

    torch.set_num_threads(args.threads)
    model = build_tiny_vlm(tmp / "tiny")
    sampling = SamplingConfig(max_new_tokens=args.tokens, seed=0)
    n, eps = args.rollout_envs, args.rollout_episodes
    rows = []
    rate, mean_tokens = rollout_rate(HFPolicy(model, sampling=sampling, device="cpu"), n, eps)
    rows.append(["transformers (generate)", n, args.tokens, mean_tokens, rate])
    if args.vllm:
        from vlenvs_train.policies.openai_server import OpenAIServerPolicy, ServerConfig
        from vlenvs_train.policies.vllm_engine import VLLMEnginePolicy
        from vlenvs_train.policies.vllm_server import start_vllm_server

        engine = VLLMEnginePolicy(model, sampling)
        rate, mean_tokens = rollout_rate(engine, n, eps)
        rows.append(["vLLM engine (in-process)", n, args.tokens, mean_tokens, rate])
        del engine
        with start_vllm_server(model, tmp / "server.log", served_name="tiny") as server:
            client = OpenAIServerPolicy(ServerConfig(base_urls=(server.url,)), processor=model, sampling=sampling)
            rate, mean_tokens = rollout_rate(client, n, eps)
        rows.append(["vLLM server (OpenAI API, loopback)", n, args.tokens, mean_tokens, rate])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    parser.add_argument("--vllm", action="store_true", help="also the vLLM engine and server (vLLM env only)")
    parser.add_argument("--envs", type=int, default=64, help="num_envs of the overhead part")
    parser.add_argument("--rollout-envs", type=int, default=8, help="num_envs of the rollout part")
    parser.add_argument("--rollout-episodes", type=int, default=16, help="episodes timed per backend")
    parser.add_argument("--tokens", type=int, default=16, help="max_new_tokens per reply in rollouts")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the transformers backend")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5

    print(machine_context())
    all_cpus = os.sched_getaffinity(0)
    print(f"Part 1, adapter overhead ({pin_one_core()}; {args.envs} envs per batch; medians of {repeats} runs)")
    rows = overhead_rows(args.envs, repeats)
    print(table(["setting", "act+observe env-steps/s", "prompt build /s", "PNG+base64 encode /s", "parse /s"], rows))
    worst = min(r[1] for r in rows)
    verdict = "met" if worst >= 5000 else "NOT met"
    print(f"slowest full adapter step: {worst:,.0f} env-steps/s (target >= 5,000: {verdict})")
    os.sched_setaffinity(0, all_cpus)

    print(f"\nPart 2, rollouts with the tiny model on CPU (Maze2D 5x5, 32x32 images, episodes of <= 4 steps; "
          f"torch threads {args.threads}; {len(all_cpus)} CPUs available)")
    with tempfile.TemporaryDirectory() as tmp:
        rows = rollout_rows(args, Path(tmp))
    print(table(["backend", "num_envs", "max_new_tokens", "mean reply tokens", "env-steps/s"], rows))
    if not args.vllm:
        print("(vLLM rows: run with --vllm in the vLLM environment, see scripts/setup_vllm_env.sh)")


if __name__ == "__main__":
    main()
