"""What going through the Tinker API costs: the service (``vlenvs-train tinker-serve``, started here as a separate
process on loopback) driven by the official ``tinker`` SDK, against the native trainer's own calls, on the same
Maze2D prompts of the CPU recipe (its first observations, real images) and the same model.

Per round, alternating (this box is shared and noisy; medians over ``--repeats`` rounds):

- sampling ``--prompts`` replies at temperature 1: native ``HFPolicy.generate`` (one batched call, prompts encoded
  by the processor) vs the SDK (prompts encoded by the same processor, PNG image chunks, one ``sample`` call per
  prompt, all in flight at once; the service batches them);
- one GRPO update on those replies (random advantages +-1): native ``grpo_update`` (re-scoring, backward, AdamW)
  vs ``forward_backward(..., "ppo")`` + ``optim_step``.

    python benchmarks/tinker_overhead.py [--model maze2d_tiny_cpu|FOLDER] [--prompts 64] [--repeats 5]

Prints a Markdown table and the machine's context.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_context, table  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="maze2d_tiny_cpu", help="a model folder or recipe name (its model)")
    p.add_argument("--prompts", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    os.environ.setdefault("TINKER_TELEMETRY", "0")
    import tinker
    import torch

    from vlenvs_train.adapter.agent import BatchedAgent
    from vlenvs_train.policies.base import PolicyOutput, SamplingConfig
    from vlenvs_train.policies.hf import HFPolicy
    from vlenvs_train.tinker_api.client import launch_service, to_model_input, turn_datum
    from vlenvs_train.tinker_api.service import resolve_model
    from vlenvs_train.train.config import load_recipe
    from vlenvs_train.train.rollout import make_env
    from vlenvs_train.train.update import Scoring, grpo_update

    torch.set_num_threads(1)
    cfg = load_recipe("maze2d_tiny_cpu")
    folder = resolve_model(args.model)
    n = args.prompts
    env = make_env(cfg.env, n)
    obs, info = env.reset(seed=list(range(n)))
    native = HFPolicy(folder, sampling=SamplingConfig(max_new_tokens=cfg.sampler.max_new_tokens, seed=0), device="cpu")
    requests = BatchedAgent(native, env, cfg.agent).requests(obs, info, np.arange(n))
    encoder = native.encoder
    pad = int(encoder.tokenizer.convert_tokens_to_ids("<|image_pad|>"))
    optimizer = torch.optim.AdamW(native.model.parameters(), lr=1e-6)
    grpo = replace(cfg.grpo, lr=1e-6)
    scoring = Scoring(native.pad_id, 1.0, tuple(native.suppress_ids))
    rng = np.random.default_rng(0)

    with tempfile.TemporaryDirectory() as root:
        proc, url = launch_service(str(folder), root)
        try:
            service = tinker.ServiceClient(base_url=url, api_key="tml-local")
            training = service.create_lora_training_client(base_model=str(folder), rank=0).result()
            sampler = service.create_sampling_client(base_model=str(folder)).result()
            adam = tinker.AdamParams(learning_rate=1e-6, beta1=0.9, beta2=0.999, eps=1e-8, grad_clip_norm=1.0)
            rows: dict[str, list[float]] = {k: [] for k in ("native sample", "sdk sample", "native update",
                                                           "sdk forward_backward", "sdk optim_step")}
            for r in range(args.repeats + 1):  # round 0 warms both up and is not counted
                t0 = time.perf_counter()
                outs = native.generate(requests)
                t1 = time.perf_counter()
                encoded = [encoder.encode(q.messages) for q in requests]
                futures = [sampler.sample(prompt=to_model_input(e.prompt_ids, e.images, pad), num_samples=1,
                                          sampling_params=tinker.SamplingParams(max_tokens=cfg.sampler.max_new_tokens,
                                                                                seed=r * n + i))
                           for i, e in enumerate(encoded)]
                seqs = [f.result().sequences[0] for f in futures]
                t2 = time.perf_counter()
                adv = rng.choice([-1.0, 1.0], size=n)
                grpo_update(native.model, optimizer, outs, adv, grpo, scoring, rng)
                t3 = time.perf_counter()
                turns = [PolicyOutput(text="", prompt_ids=e.prompt_ids, response_ids=np.asarray(s.tokens),
                                      logprobs=np.asarray(s.logprobs, np.float32), mm_inputs={})
                         for e, s in zip(encoded, seqs)]
                data = [turn_datum(t.prompt_ids, e.images, t.response_ids, pad, logprobs=t.logprobs,
                                   advantage=a / (len(t.response_ids) * n)) for t, e, a in zip(turns, encoded, adv)]
                t4 = time.perf_counter()
                training.forward_backward(data, "ppo", {"clip_low_threshold": 0.8, "clip_high_threshold": 1.28}).result()
                t5 = time.perf_counter()
                training.optim_step(adam).result()
                t6 = time.perf_counter()
                if r:
                    for key, value in zip(rows, (t1 - t0, t2 - t1, t3 - t2, t5 - t4, t6 - t5)):
                        rows[key].append(value)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print(f"`python benchmarks/tinker_overhead.py --model {args.model} --prompts {n} --repeats {args.repeats}`; "
          f"{machine_context()}; the service in its own process (OMP_NUM_THREADS=1), the client one torch thread\n")
    print(table(["step", f"seconds for {n} prompts (median)", "per prompt (ms)", "vs native"], [
        ["sample: native `HFPolicy.generate`", f"{med['native sample']:.3f}", f"{1e3 * med['native sample'] / n:.2f}", "1"],
        ["sample: SDK `sample` x %d" % n, f"{med['sdk sample']:.3f}", f"{1e3 * med['sdk sample'] / n:.2f}",
         f"{med['sdk sample'] / med['native sample']:.2f}x"],
        ["update: native `grpo_update`", f"{med['native update']:.3f}", f"{1e3 * med['native update'] / n:.2f}", "1"],
        ["update: SDK `forward_backward` + `optim_step`",
         f"{med['sdk forward_backward'] + med['sdk optim_step']:.3f}",
         f"{1e3 * (med['sdk forward_backward'] + med['sdk optim_step']) / n:.2f}",
         f"{(med['sdk forward_backward'] + med['sdk optim_step']) / med['native update']:.2f}x"],
    ]))


if __name__ == "__main__":
    main()
