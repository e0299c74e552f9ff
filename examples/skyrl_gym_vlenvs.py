"""Train on vlenvs with SkyRL: register the envs with skyrl_gym, write a prompt dataset, run one episode.

    pip install 'skyrl-gym>=0.4'
    python examples/skyrl_gym_vlenvs.py --env vlenvs/Maze2D-v0 --out ~/data/vlenvs_maze/train.parquet

The episode here is played by the env's oracle (its replies written as model text) in place of SkyRL's
generator, which makes the same calls: ``skyrl_gym.make(env_class, env_config=..., extras=row)``,
``env.init(prompt)``, then ``env.step(reply)`` until ``done``. For a SkyRL run, call ``register_vlenvs()``
inside the Ray task of your entrypoint (where SkyRL makes the envs), point ``data.train_data`` at the parquet
file, set ``generator.max_turns`` to the env's episode length and, for image input, ``generator.is_vlm=True``.
"""

from __future__ import annotations

import argparse
import json

import skyrl_gym

import vlenvs
from vlenvs_train.integrations.skyrl_gym import dataset_rows, register_vlenvs
from vlenvs_train.policies.base import PolicyRequest
from vlenvs_train.policies.oracle import OraclePolicy


def summary(message: dict) -> str:
    """A message with its images shortened, for printing."""
    content = message["content"]
    if isinstance(content, str):
        return f"{message['role']}: {content}"
    parts = [p["text"] if p["type"] == "text" else f"<{p['type']}>" for p in content]
    return f"{message['role']}: {' '.join(parts)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="vlenvs/Maze2D-v0", choices=sorted(vlenvs.ENVS))
    parser.add_argument("--seeds", type=int, default=8, help="dataset rows (one episode seed each)")
    parser.add_argument("--image-format", default="data_url", choices=["data_url", "pil", "array", "text"])
    parser.add_argument("--out", default=None, help="write the dataset here (parquet; needs pandas + pyarrow)")
    args = parser.parse_args()

    print("registered:", ", ".join(register_vlenvs()))
    rows = dataset_rows(args.env, range(args.seeds), image_format=args.image_format, invalid_penalty=0.1)
    if args.out:
        import pandas as pd

        pd.DataFrame(rows).to_parquet(args.out)
        print(f"wrote {len(rows)} rows to {args.out}")

    row = rows[0]
    extras = {k: v for k, v in row.items() if k not in ("prompt", "env_class")} | {"max_turns": 100}
    env = skyrl_gym.make(row["env_class"], env_config={}, extras=extras)
    conversation, meta = env.init(row["prompt"])
    for message in conversation:
        print(summary(message))
    info, done = meta["info"], False
    while not done:
        answer = OraclePolicy.answer(PolicyRequest([], tuple(env.legal_actions), info))
        reply = f"<think>...</think><answer>{answer}</answer>"
        out = env.step(reply)
        conversation += [{"role": "assistant", "content": reply}, *out["observations"]]
        print(f"assistant: {reply}  -> reward {out['reward']:.2f}, done {out['done']}")
        info, done = out["metadata"]["info"], out["done"]
    print("episode metrics:", json.dumps(env.get_metrics()))
    env.close()


if __name__ == "__main__":
    main()
