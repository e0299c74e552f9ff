"""Evaluation harness: any policy (scripted, transformers, vLLM, any OpenAI-compatible VLM endpoint) on any
vlenvs envs, resumable, with per-env/per-family reports and a self-contained HTML trajectory viewer.

Command line: ``vlenvs-eval`` (:mod:`vlenvs_train.evaluation.cli`). From Python: :func:`run_eval` with an
:class:`EvalRunConfig`. The viewer itself lives in :mod:`vlenvs_train.viewer` (below both this package and the
trainer, which writes it for its held-out evaluations); :func:`write_viewer` and :class:`PromptRecorder` are
re-exported here.
"""

from vlenvs_train.evaluation.config import EnvEntry, EvalRunConfig, PolicyConfig, ResumeMismatchError
from vlenvs_train.evaluation.runner import run_eval
from vlenvs_train.viewer import PromptRecorder, write_viewer

__all__ = ["EnvEntry", "EvalRunConfig", "PolicyConfig", "PromptRecorder", "ResumeMismatchError", "run_eval",
           "write_viewer"]
