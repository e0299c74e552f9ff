"""The trainer: configs and recipes (:mod:`.config`), the run loop (:mod:`.trainer`), one-episode-per-seed
rollouts (:mod:`.rollout`), optimizer steps (:mod:`.update`) and optimizers (:mod:`.precision`: fp32 master
weights for bf16/fp16 models), backends and evaluation (:mod:`.backends`), checkpoints (:mod:`.checkpoint`:
safetensors + verified manifest), resume rules and run folders (:mod:`.resume`), servable model folders
(:mod:`.export`), metrics and plots. Torch loads only with :mod:`.trainer`/:mod:`.update`/:mod:`.backends`."""
