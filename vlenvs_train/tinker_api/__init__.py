"""A self-hosted Tinker-API service for vision-language models: ``vlenvs-train tinker-serve``.

A user's own training loop written against the official ``tinker`` SDK (``ServiceClient``, training clients'
``forward_backward`` / ``optim_step`` / ``save_weights_for_sampler``, sampling clients' ``sample``) trains and
samples a VLM served here, with image chunks in its model inputs. Losses are the trainer's own code, log-probs
the trainer's scoring, checkpoints the trainer's format. Modules: :mod:`.wire` (protobuf/JSON), :mod:`.inputs`
(chunks -> token ids and image tensors), :mod:`.losses`, :mod:`.models` (what a request does to a model),
:mod:`.service` (sessions, models, futures, paths), :mod:`.app` (the routes), :mod:`.config`.
"""

from vlenvs_train.tinker_api.config import TinkerServiceConfig

__all__ = ["TinkerServiceConfig"]
