"""The trainer: configs and recipes (:mod:`.config`), the run loop (:mod:`.trainer`), one-episode-per-seed
rollouts (:mod:`.rollout`), optimizer steps (:mod:`.update`), backends and evaluation (:mod:`.backends`),
checkpoints, metrics and plots. Torch loads only with :mod:`.trainer`/:mod:`.update`/:mod:`.backends`."""
