"""A whole run (:class:`TrainConfig`): its sections, the checks across sections, and where it writes."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlenvs.core.config import check_int
from vlenvs.core.errors import InvalidConfigError, out_of_range
from vlenvs_train.adapter.agent import AgentConfig
from vlenvs_train.train.config.env import EnvConfig
from vlenvs_train.train.config.fields import build_section
from vlenvs_train.train.config.model import ModelConfig
from vlenvs_train.train.config.rollout import RolloutConfig
from vlenvs_train.train.config.sampler import SamplerConfig
from vlenvs_train.train.config.stages import EvalConfig, GRPOConfig, SFTConfig


def check_out_dir(out_dir: Any) -> None:
    """Raise unless ``out_dir`` is a folder that exists and is writable, or can be created: it is not a file and
    its nearest existing ancestor is a folder in which a folder can be made (tried, then removed at once)."""
    if not isinstance(out_dir, str) or not out_dir:
        raise out_of_range("out_dir", out_dir, "a folder path (a non-empty string)")
    try:
        path = Path(out_dir).expanduser().absolute()
        base = path
        while not base.exists():
            base = base.parent
    except (OSError, ValueError) as e:  # a NUL byte, a name too long, ...
        raise out_of_range("out_dir", out_dir, f"a usable folder path ({e})") from None
    if base == path and not path.is_dir():
        raise out_of_range("out_dir", out_dir, "a folder path; this is an existing file")
    if not base.is_dir():
        raise out_of_range("out_dir", out_dir, f"a folder path; {str(base)!r} is a file")
    try:  # os.access alone says yes to root on read-only or virtual file systems (/proc)
        if not os.access(base, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
        os.rmdir(tempfile.mkdtemp(prefix=".vlenvs-write-check-", dir=base))
    except OSError as e:
        what = "out_dir" if base == path else f"its nearest existing folder {str(base)!r}"
        raise out_of_range("out_dir", out_dir, f"a writable folder path; cannot write in {what} "
                           f"({e.strerror or e})") from None


@dataclass(frozen=True)
class TrainConfig:
    """A whole run: its components, where it writes, how often it checkpoints."""

    name: str = "run"
    """Run name (the recipe's)."""
    out_dir: str = "runs/run"
    """Folder for checkpoints, metrics, plots and GIFs; must exist and be writable, or be creatable."""
    seed: int = 0
    """Seed of torch/numpy/python RNGs (model-side randomness)."""
    torch_threads: int = 1
    """``torch.set_num_threads`` (0: leave torch's default). 1 is fastest on a shared 2-core box: OpenMP threads
    that wait for a busy core are many times slower than one thread."""
    checkpoint_every: int = 5
    """Checkpoint every this many GRPO iterations (and after SFT and at the end); 0: only those."""
    keep_checkpoints: int = 2
    """Checkpoints kept (older ones are deleted)."""
    tensorboard: bool = True
    """Also write TensorBoard event files (if the ``tensorboard`` package is installed)."""
    progress: bool = True
    """Show progress bars."""
    model: ModelConfig = field(default_factory=ModelConfig)
    """The ``model`` section: which model is trained and where it runs."""
    env: EnvConfig = field(default_factory=EnvConfig)
    """The ``env`` section: the env played in training and evaluation."""
    agent: AgentConfig = field(default_factory=lambda: AgentConfig(answer_format="answer"))
    """The ``agent`` section: how observations become prompts and replies become actions."""
    sampler: SamplerConfig = field(default_factory=SamplerConfig)
    """The ``sampler`` section: who samples the rollouts."""
    sft: SFTConfig = field(default_factory=SFTConfig)
    """The ``sft`` section: supervised fine-tuning on demonstrations."""
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    """The ``grpo`` section: multi-turn GRPO."""
    eval: EvalConfig = field(default_factory=EvalConfig)
    """The ``eval`` section: evaluation on held-out seeds."""
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    """The ``rollout`` section: where rollouts and evaluations are played."""

    def __post_init__(self) -> None:
        check_int("seed", self.seed, 0, 2**62)
        check_int("torch_threads", self.torch_threads, 0, 1024)
        check_int("checkpoint_every", self.checkpoint_every, 0, 10_000_000)
        check_int("keep_checkpoints", self.keep_checkpoints, 1, 1000)
        check_out_dir(self.out_dir)
        concurrency = self.rollout.policy_concurrency
        if concurrency > 1 and self.rollout.backend != "sync" and self.sampler.backend != "openai_server":
            raise InvalidConfigError(f"rollout.policy_concurrency={concurrency} needs sampler.backend='openai_server'; "
                                     f"the in-process sampler {self.sampler.backend!r} serves one call at a time "
                                     "(use rollout.policy_concurrency=1)")
        if self.eval.test_kwargs:
            try:
                self.test_env()
            except InvalidConfigError as e:
                raise InvalidConfigError(f"eval.test_kwargs: {e}") from None
        shards = self.rollout.num_shards
        if shards and self.rollout.backend != "sync":
            fewest, what = min((n, what) for what, n in self.rollout_sizes().items())
            if shards > fewest:
                raise InvalidConfigError(f"rollout.num_shards={shards} is more than the {fewest} envs of a rollout "
                                         f"call ({what}); a shard needs one env at least: use rollout.num_shards <= "
                                         f"{fewest}, or null for the pipeline's default")

    def test_env(self) -> EnvConfig:
        """The env of the test-split evaluations: ``env`` with ``eval.test_kwargs`` over its kwargs."""
        return dataclasses.replace(self.env, kwargs={**self.env.kwargs, **self.eval.test_kwargs})

    def rollout_sizes(self) -> dict[str, int]:
        """The fewest envs each kind of rollout call plays at once (evaluations play ``eval.batch`` at a time)."""
        def last_chunk(episodes: int) -> int:
            return episodes % self.eval.batch or min(episodes, self.eval.batch)

        sizes = {f"eval.episodes={self.eval.episodes} in eval.batch={self.eval.batch}": last_chunk(self.eval.episodes)}
        if self.grpo.iterations:
            sizes["grpo.groups * grpo.group_size"] = self.grpo.groups * self.grpo.group_size
        if self.eval.every and self.grpo.iterations > self.eval.every:
            sizes[f"eval.quick_episodes={self.eval.quick_episodes} in eval.batch={self.eval.batch}"] = \
                last_chunk(self.eval.quick_episodes)
        return sizes

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


#: Recipe section -> its config class.
SECTIONS: dict[str, type] = {"model": ModelConfig, "env": EnvConfig, "agent": AgentConfig, "sampler": SamplerConfig,
                             "sft": SFTConfig, "grpo": GRPOConfig, "eval": EvalConfig, "rollout": RolloutConfig}
#: Sections whose classes name their fields without the section (their errors get the section as a prefix).
_FOREIGN = ("agent",)


def config_from_dict(data: Mapping[str, Any] | None) -> TrainConfig:
    """A validated :class:`TrainConfig` from a nested mapping (a parsed recipe). Every key and value is checked
    (types, ranges, choices, nested sections, env id/preset/kwargs, model path, device, out_dir) before it
    returns; nothing is loaded or built."""
    if data is not None and not isinstance(data, Mapping):
        raise InvalidConfigError(f"a recipe must be a mapping of sections, got {data!r}")
    data = dict(data or {})
    for name, cls in SECTIONS.items():
        if name in data:
            data[name] = build_section(cls, data[name], name, prefix=name in _FOREIGN)
    return build_section(TrainConfig, data, "")
