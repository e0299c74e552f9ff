"""Does GRPO learn the same through every sampler backend? SFT once (the CPU recipe), then GRPO from that
checkpoint with transformers (``hf``), the in-process vLLM engine and two vLLM servers (started here, loopback),
same seeds; prints the held-out success after SFT and after GRPO per backend, and the GRPO wall time.

Run in the vLLM environment: ``.venv-vllm/bin/python benchmarks/learning_backends.py [--iterations 50]
[--seed 1] [--out runs/learning_backends]`` (without vLLM only ``hf`` runs). One seed per call: seeds vary the
SFT data order and GRPO's env seeds; the backends differ only by float rounding in sampling, so within a seed
their curves diverge after the first differently sampled token.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import machine_context, table  # noqa: E402


def run(stages, overrides, init=None):
    from vlenvs_train.train.config import load_recipe
    from vlenvs_train.train.trainer import Trainer

    config = load_recipe("maze2d_tiny_cpu", [*overrides, "progress=false", "tensorboard=false"])
    t0 = time.perf_counter()
    Trainer(config, stages, init=init, overwrite=True).run()
    rows = [json.loads(x) for x in (Path(config.out_dir) / "metrics.jsonl").read_text().splitlines()]
    final = [r for r in rows if r["kind"] == "eval" and r.get("stage") in ("eval_sft", "eval_final")][-1]
    return final["eval_success_rate"], time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="runs/learning_backends")
    args = parser.parse_args()
    import vlenvs  # noqa: F401
    from vlenvs_train.train.backends import model_path
    from vlenvs_train.train.config import load_recipe

    out = Path(args.out)
    common = [f"seed={args.seed}", f"grpo.iterations={args.iterations}", "eval.every=0", "checkpoint_every=0"]
    sft, sft_s = run(("sft", "eval_sft"), [*common, f"out_dir={out / 'sft'}"])
    backends = ["hf"] + (["vllm_engine", "openai_server"] if importlib.util.find_spec("vllm") else [])
    rows = []
    for backend in backends:
        overrides = [*common, f"out_dir={out / backend}", f"sampler.backend={backend}"]
        servers = []
        if backend == "openai_server":
            from vlenvs_train.policies.vllm_server import start_vllm_server

            model = model_path(load_recipe("maze2d_tiny_cpu").model)
            servers = [start_vllm_server(model, out / f"server{k}.log", served_name="tiny") for k in range(2)]
            overrides += [f"sampler.server.base_urls=[{', '.join(s.url for s in servers)}]",
                          "sampler.server.model=tiny"]
        try:
            success, seconds = run(("rl", "eval_final"), overrides, init=out / "sft")
        finally:
            for s in servers:
                s.stop()
        name = "2 vLLM servers" if backend == "openai_server" else backend
        rows.append([name, sft, success, seconds / 60])
        print(rows[-1], flush=True)
    print(f"\nseed {args.seed}: SFT ({sft_s / 60:.1f} min), then {args.iterations} GRPO iterations per backend; "
          "held-out success (200 episodes, greedy)\n")
    print(table(["sampler", "after SFT", "after GRPO", "GRPO minutes"], rows))
    print("\n" + machine_context())


if __name__ == "__main__":
    main()
