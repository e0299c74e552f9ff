"""Evaluation harness: any policy (scripted, transformers, vLLM, any OpenAI-compatible VLM endpoint) on any
vlenvs envs, resumable, with per-env/per-family reports and a self-contained HTML trajectory viewer.

Command line: ``vlenvs-eval`` (:mod:`vlenvs_train.evaluation.cli`). From Python: :func:`run_eval` with an
:class:`EvalRunConfig`, and :func:`write_viewer` for episodes played elsewhere (e.g. the trainer's held-out
evaluations).
"""

from vlenvs_train.evaluation.config import EnvEntry, EvalRunConfig, PolicyConfig, ResumeMismatchError
from vlenvs_train.evaluation.runner import run_eval
from vlenvs_train.evaluation.viewer import write_viewer

__all__ = ["EnvEntry", "EvalRunConfig", "PolicyConfig", "ResumeMismatchError", "run_eval", "write_viewer"]
