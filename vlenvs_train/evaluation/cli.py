"""``vlenvs-eval``: evaluate any policy on vlenvs envs; results per env and family, and a trajectory viewer.

Examples::

    # scripted baselines (oracle = upper bound, random), two envs in one run
    vlenvs-eval --env vlenvs/Maze2D-v0 --preset easy --env vlenvs/GridWorld3D-v0 --policy oracle --out runs/eval-oracle
    # a model folder (or "tiny") with transformers, or an in-process vLLM engine
    vlenvs-eval --env vlenvs/Maze2D-v0 --preset easy --env-kwarg size=9 --policy hf --model runs/run/final
    # any OpenAI-compatible endpoint of a real VLM; the key is read from $OPENAI_API_KEY, never stored
    vlenvs-eval --envs envs.yaml --base-url https://api.openai.com/v1 --model gpt-4o-mini \\
        --api-key-env OPENAI_API_KEY --concurrency 8 --episodes 50
    # a benchmark: the 601 Geometry3K test problems once each (EasyR1 protocol), from a vLLM server
    vlenvs-eval --env vlenvs/Geometry3k-v0 --preset geometry3k_eval --env-kwarg data_dir=DIR \\
        --env-kwarg image_size=512 --episodes all --base-url http://127.0.0.1:8000/v1 --max-new-tokens 2048 \\
        --batch 64 --concurrency 64 --out runs/geo3k-test

Envs: ``--env ID`` (repeatable); ``--preset`` and ``--env-kwarg KEY=VALUE`` (repeatable, values read as
YAML) apply to the ``--env`` before them. Or ``--envs FILE``: a YAML/JSON list of ids or
``{id, preset, kwargs}`` mappings. Each env plays ``--episodes`` held-out seeds ``--seed``, ``--seed + 1``, ...
(greedy unless ``--temperature``), ``--batch`` envs at a time (one policy call per step answers them all).
``--episodes all`` (or ``--by-index``) plays by problem index instead, for envs with a problem list
(Geometry3k): episode ``k`` resets with ``options={"index": k}``, so ``--episodes all`` plays every problem of
the split exactly once (``--seed``: first index, default 0) and the summary adds its accuracy (one graded reply
per problem: EasyR1's protocol) and ungradable rate, per env and problem family. ``--by-index --episodes N``
plays problems 0..N-1 (generated problems: a fixed reproducible set).

Policies: ``oracle``/``random`` (scripted), ``hf`` (transformers), ``vllm_engine`` (in-process vLLM; a
model folder, hub id or ``tiny``), ``openai`` (``--base-url`` [repeatable, round-robin], ``--model`` served
name [default: the first listed], ``--api-key-env VAR``, at most ``--concurrency`` requests in flight,
``--timeout-s``, ``--max-retries``; replies need only text, no token ids). Default: ``openai`` with
``--base-url``, ``hf`` with ``--model``.

Output folder ``--out``:
  episodes.jsonl  one JSON line per finished episode (turns: prompt, reply, action, parse error, reward,
                  feedback, info), appended and fsync'd per batch. A killed run, rerun with the same
                  arguments, continues where it stopped; different arguments are refused (the error names
                  the first differing one) unless ``--overwrite``. More ``--episodes`` or envs just add episodes.
  summary.json / summary.csv  success rate, mean return, invalid-reply rate, mean length, ungradable-reply
                  rate and first-reply accuracy per env, per family (the env id; or id/family where the env's
                  info names a task family) and overall; by index also a benchmark block per env.
  viewer.html     self-contained trajectory viewer of the first ``--viewer-episodes`` seeds of each env:
                  frames, system prompt, each turn's prompt, reply, action or parse error, reward, feedback;
                  filter successes/failures; left/right arrows step turns, up/down step episodes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from vlenvs.core.errors import VlenvsError
from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.chat.prompts import ANSWER_FORMATS, PROMPT_STYLES
from vlenvs_train.policies.base import PolicyError
from vlenvs_train.evaluation.config import (
    DTYPES,
    POLICIES,
    EvalRunConfig,
    PolicyConfig,
    env_entries,
    load_env_file,
    parse_kwarg,
)


class _EnvGroup(argparse.Action):
    """``--env`` starts an env entry; ``--preset``/``--env-kwarg`` fill in the latest one."""

    def __call__(self, parser, namespace, value, option_string=None):  # type: ignore[no-untyped-def]
        specs = list(getattr(namespace, "env_specs", None) or [])
        if option_string == "--env":
            specs.append({"id": value, "preset": None, "kwargs": {}})
        elif not specs:
            parser.error(f"{option_string} {value} must follow the --env it belongs to")
        elif option_string == "--preset":
            specs[-1] = {**specs[-1], "preset": value}
        else:
            key, val = parse_kwarg(value)
            specs[-1] = {**specs[-1], "kwargs": {**specs[-1]["kwargs"], key: val}}
        namespace.env_specs = specs


def _episodes(text: str) -> int | str:
    """``--episodes``: a count or ``all``."""
    if text.strip().lower() == "all":
        return "all"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid --episodes {text!r}; expected a count such as 32, "
                                         f"or 'all'") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vlenvs-eval", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group("envs")
    g.add_argument("--env", action=_EnvGroup, dest="env_specs", metavar="ID", help="env id (repeatable)")
    g.add_argument("--preset", action=_EnvGroup, dest="env_specs", metavar="NAME", help="preset of the last --env")
    g.add_argument("--env-kwarg", action=_EnvGroup, dest="env_specs", metavar="KEY=VALUE",
                   help="config override of the last --env (repeatable)")
    g.add_argument("--envs", metavar="FILE", help="YAML/JSON list of envs (ids or {id, preset, kwargs})")
    g.add_argument("--episodes", type=_episodes, default=32,
                   help="held-out episodes per env (default 32), or 'all': every problem of the split once")
    g.add_argument("--seed", type=int, default=None,
                   help="first held-out seed (default 10000000); by index the first problem (default 0)")
    g.add_argument("--by-index", action="store_true",
                   help="seeds are problem indices (reset options index); implied by --episodes all")
    g.add_argument("--batch", type=int, default=16, help="envs stepped together (default 16)")
    g = p.add_argument_group("policy")
    g.add_argument("--policy", choices=POLICIES, default=None, help="who answers (default: see above)")
    g.add_argument("--model", help="model folder / hub id / 'tiny' (hf, vllm_engine) or served model name (openai)")
    g.add_argument("--base-url", action="append", default=[], metavar="URL", help="OpenAI API root (repeatable)")
    g.add_argument("--api-key-env", metavar="VAR", help="environment variable holding the API key")
    g.add_argument("--concurrency", type=int, default=8, help="openai: most requests in flight (default 8)")
    g.add_argument("--timeout-s", type=float, default=300.0, help="openai: per-request timeout (default 300)")
    g.add_argument("--max-retries", type=int, default=3, help="openai: retries per request (default 3)")
    g.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (default 0: greedy)")
    g.add_argument("--max-new-tokens", type=int, default=256, help="longest reply in tokens (default 256)")
    g.add_argument("--sample-seed", type=int, default=0, help="sampler / random-policy seed (default 0)")
    g.add_argument("--device", default="auto", help="hf: torch device (default auto)")
    g.add_argument("--dtype", choices=DTYPES, default="float32", help="hf/vllm_engine weight dtype")
    g = p.add_argument_group("prompt")
    g.add_argument("--answer-format", choices=ANSWER_FORMATS, default="think",
                   help="think: <think>..</think><answer>..</answer>; answer: <answer> only (default think)")
    g.add_argument("--prompt", choices=PROMPT_STYLES, default="full", help="system prompt style (default full)")
    g.add_argument("--history-turns", type=int, default=0, help="past turns shown each turn (default 0)")
    g.add_argument("--history-images", action="store_true", help="show the past turns' images too")
    g.add_argument("--strict-format", action="store_true", help="replies without <answer> tags are invalid")
    g = p.add_argument_group("output")
    g.add_argument("--out", default="runs/eval", help="output folder (default runs/eval)")
    g.add_argument("--overwrite", action="store_true", help="discard earlier results in --out instead of resuming")
    g.add_argument("--viewer-episodes", type=int, default=8, help="episodes per env in viewer.html (0: none)")
    g.add_argument("--viewer-image-size", type=int, default=160, help="longest frame side in the viewer (px)")
    g.add_argument("--viewer-max-frames", type=int, default=60, help="most frames kept per viewer episode")
    return p


def config_from_args(args: argparse.Namespace) -> EvalRunConfig:
    """The run config of parsed arguments (raises the typed error of the first bad value)."""
    envs = env_entries(args.env_specs or [])
    if args.envs:
        envs += load_env_file(args.envs)
    kind = args.policy or ("openai" if args.base_url else "hf" if args.model else None)
    if kind is None:
        from vlenvs.core.errors import invalid_choice

        raise invalid_choice("--policy (none given, and no --base-url or --model to infer it from)", None, POLICIES)
    policy = PolicyConfig(kind=kind, model=args.model, base_urls=tuple(args.base_url), api_key_env=args.api_key_env,
                          concurrency=args.concurrency, timeout_s=args.timeout_s, max_retries=args.max_retries,
                          temperature=args.temperature, max_new_tokens=args.max_new_tokens,
                          sample_seed=args.sample_seed, device=args.device, dtype=args.dtype)
    agent = AgentConfig(answer_format=args.answer_format, prompt=args.prompt, history_turns=args.history_turns,
                        history_images=args.history_images, strict_format=args.strict_format)
    return EvalRunConfig(envs=tuple(envs), policy=policy, agent=agent, out=args.out, episodes=args.episodes,
                         seed=args.seed, by_index=args.by_index, batch=args.batch,
                         viewer_episodes=args.viewer_episodes,
                         viewer_image_size=args.viewer_image_size, viewer_max_frames=args.viewer_max_frames)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from vlenvs_train.evaluation.runner import run_eval

    try:
        config = config_from_args(args)
        run_eval(config, overwrite=args.overwrite)
    except PolicyError as e:  # the policy failed mid-run: what finished is saved, a rerun resumes
        print(f"vlenvs-eval: the policy failed: {e}\nfinished episodes are saved; rerun the same command to resume",
              file=sys.stderr)
        return 1
    except VlenvsError as e:
        print(f"vlenvs-eval: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {config.out}/summary.json, summary.csv" + (", viewer.html" if config.viewer_episodes else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
