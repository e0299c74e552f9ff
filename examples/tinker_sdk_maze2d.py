"""Multi-turn GRPO on Maze2D, written against the official ``tinker`` SDK only (sampling + training clients),
pointed at a local vlenvs Tinker-API service.

    vlenvs-train sft --recipe maze2d_tiny_cpu out_dir=runs/sft          # an SFT start (optional)
    vlenvs-train tinker-serve --model runs/sft/model --port 8001 &      # the service (any model folder/recipe)
    python examples/tinker_sdk_maze2d.py --base-url http://127.0.0.1:8001 --iterations 150

The env side is vlenvs' batched adapter: the Maze2D vector env, its prompts (chat messages with the image), the
reply parser and rewards (``vlenvs_train.adapter``, played by ``vlenvs_train.rollout.play_seeds``). The policy is a
``BatchedPolicy`` whose replies come from ``SamplingClient.sample``; each prompt goes to the service as a
``tinker.ModelInput`` of token ids and PNG image chunks (``vlenvs_train.tinker_api.client``). Training is
``TrainingClient.forward_backward(..., "ppo")`` + ``optim_step``: per-turn advantages are the group-normalised
episode returns, scaled so that Tinker's summed loss is the native trainer's ``loss_agg=turn_mean`` loss (each
turn's token mean, then the mean over the turns with a signal), with the recipe's Adam settings, so on the same
samples both take the same step. The last line printed is a JSON summary (held-out success before/after).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from typing import Any

import numpy as np

import tinker
from vlenvs_train.adapter.agent import BatchedAgent
from vlenvs_train.algos.grpo import signal_fraction, turn_advantages
from vlenvs_train.policies.base import PolicyOutput, SamplingConfig, check_outputs
from vlenvs_train.policies.encode import PromptEncoder
from vlenvs_train.rollout.play import play_seeds
from vlenvs_train.tinker_api.client import to_model_input, turn_datum
from vlenvs_train.train.backends import evaluate
from vlenvs_train.train.config import load_recipe
from vlenvs_train.train.rollout import make_env


class TinkerPolicy:
    """A ``BatchedPolicy`` sampling through a ``tinker.SamplingClient``: one ``sample`` call per request, all
    in flight at once. Keeps each reply's prompt images for the training datums (``images_of``)."""

    def __init__(self, client: Any, encoder: PromptEncoder, sampling: SamplingConfig) -> None:
        self.client, self.encoder, self.sampling = client, encoder, sampling
        self.image_pad_id = int(encoder.tokenizer.convert_tokens_to_ids("<|image_pad|>"))
        self.images_of: dict[int, list[Any]] = {}
        self.calls = 0
        self.seconds = 0.0

    def generate(self, requests):
        t0 = time.perf_counter()
        encoded = [self.encoder.encode(r.messages) for r in requests]
        s = self.sampling
        futures = [self.client.sample(
            prompt=to_model_input(e.prompt_ids, e.images, self.image_pad_id), num_samples=1,
            sampling_params=tinker.SamplingParams(max_tokens=s.max_new_tokens, temperature=s.temperature,
                                                  seed=(s.seed or 0) * 1_000_003 + self.calls * 4096 + i))
            for i, e in enumerate(encoded)]
        self.calls += 1
        outputs = []
        for e, f in zip(encoded, futures):
            seq = f.result().sequences[0]
            ids = np.asarray(seq.tokens, dtype=np.int64)
            out = PolicyOutput(text=self.encoder.tokenizer.decode(ids, skip_special_tokens=True),
                               prompt_ids=e.prompt_ids, response_ids=ids,
                               logprobs=np.asarray(seq.logprobs, dtype=np.float32), mm_inputs={},
                               finish_reason="stop" if seq.stop_reason == "stop" else "length")
            self.images_of[id(out)] = e.images
            outputs.append(out)
        self.seconds += time.perf_counter() - t0
        return check_outputs(requests, outputs, "TinkerPolicy")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--base-url", default="http://127.0.0.1:8001")
    p.add_argument("--recipe", default="maze2d_tiny_cpu", help="env, agent, GRPO and eval settings to follow")
    p.add_argument("--iterations", type=int, default=None, help="default: the recipe's grpo.iterations")
    p.add_argument("--seed", type=int, default=1, help="sampling seed (the recipe's seed by default)")
    p.add_argument("--eval-episodes", type=int, default=None, help="default: the recipe's eval.episodes")
    p.add_argument("--groups", type=int, default=None, help="env seeds per iteration (default: the recipe's)")
    p.add_argument("--group-size", type=int, default=None, help="episodes per env seed (default: the recipe's)")
    args = p.parse_args()
    sizes = [f"grpo.{k}={v}" for k, v in (("groups", args.groups), ("group_size", args.group_size)) if v is not None]
    cfg = load_recipe(args.recipe, [f"seed={args.seed}", "env.kwargs.split=train", *sizes])
    g = cfg.grpo
    iterations = g.iterations if args.iterations is None else args.iterations
    if g.loss_agg != "turn_mean" or g.ppo_epochs != 1 or g.minibatches != 1 or g.advantage != "episode":
        raise SystemExit("this example reproduces loss_agg=turn_mean, one PPO epoch, one minibatch, episode advantages")

    service = tinker.ServiceClient(base_url=args.base_url, api_key="tml-local")
    base_model = tinker.RestClient(base_url=args.base_url, api_key="tml-local").get_server_capabilities() \
        .result().supported_models[0].model_name
    training = service.create_lora_training_client(base_model=base_model, rank=0).result()  # rank 0: all weights
    encoder = PromptEncoder.from_pretrained(training.get_info().model_data.tokenizer_id)
    adam = tinker.AdamParams(learning_rate=g.lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=g.weight_decay,
                             grad_clip_norm=g.max_grad_norm)  # torch AdamW's defaults, as the trainer's
    sampling = SamplingConfig(max_new_tokens=cfg.sampler.max_new_tokens, temperature=cfg.sampler.temperature,
                              seed=args.seed)
    eval_cfg = cfg.eval if args.eval_episodes is None else replace(cfg.eval, episodes=args.eval_episodes)

    def held_out(policy: TinkerPolicy) -> float:
        return evaluate(policy, cfg.env, cfg.agent, eval_cfg)["eval_success_rate"]

    policy = TinkerPolicy(training.save_weights_and_get_sampling_client().result(), encoder, sampling)
    before = held_out(policy)
    print(f"held-out success before: {before:.3f}", flush=True)
    env = make_env(cfg.env, g.groups * g.group_size)
    timing = {"sample": 0.0, "forward_backward": 0.0, "optim_step": 0.0, "sync": 0.0}
    n_sample_calls = n_fb = 0
    for step in range(iterations):
        first = g.seed + step * g.groups
        seeds = [first + k for k in range(g.groups) for _ in range(g.group_size)]
        policy.images_of.clear()
        t0, calls0 = time.perf_counter(), policy.calls
        episodes = play_seeds(env, BatchedAgent(policy, env, replace(cfg.agent, seed=first)), seeds)
        timing["sample"] += time.perf_counter() - t0
        n_sample_calls += sum(len(e.records) for e in episodes)
        groups = [k // g.group_size for k in range(len(episodes))]
        advs = turn_advantages([[r.reward for r in e.records] for e in episodes], groups, "episode",
                               g.advantage_scale, g.gamma)
        kept = [(r.output, a) for e, adv in zip(episodes, advs) for r, a in zip(e.records, adv)
                if a != 0 and len(r.output.response_ids)]
        success = np.mean([e.success for e in episodes])
        if kept:  # turn_mean: each turn's token mean, then the mean over the kept turns
            data = [turn_datum(o.prompt_ids, policy.images_of[id(o)], o.response_ids, policy.image_pad_id,
                               logprobs=o.logprobs, advantage=a / (len(o.response_ids) * len(kept)))
                    for o, a in kept]
            t1 = time.perf_counter()
            training.forward_backward(data, "ppo", {"clip_low_threshold": 1 - g.clip_low,
                                                    "clip_high_threshold": 1 + g.clip_high}).result()
            t2 = time.perf_counter()
            training.optim_step(adam).result()
            t3 = time.perf_counter()
            policy.client = training.save_weights_and_get_sampling_client().result()
            timing["forward_backward"] += t2 - t1
            timing["optim_step"] += t3 - t2
            timing["sync"] += time.perf_counter() - t3
            n_fb += 1
        print(f"iteration {step + 1}: success {success:.3f}, signal "
              f"{signal_fraction(np.array([e.total_reward for e in episodes]), np.array(groups)):.3f}, turns "
              f"{sum(len(e.records) for e in episodes)}, {policy.calls - calls0} batches", flush=True)
    after = held_out(policy)
    print(f"held-out success after: {after:.3f}", flush=True)
    print(json.dumps({"before": before, "after": after, "iterations": iterations, "seed": args.seed,
                      "sample_calls": n_sample_calls, "sample_s_per_call": timing["sample"] / max(n_sample_calls, 1),
                      "forward_backward_s": timing["forward_backward"] / max(n_fb, 1),
                      "optim_step_s": timing["optim_step"] / max(n_fb, 1), "sync_s": timing["sync"] / max(n_fb, 1)}))


if __name__ == "__main__":
    main()
