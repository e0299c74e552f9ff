"""Model helpers: the tiny offline VLM builder (:mod:`.tiny`) and torchvision-free processor loading
(:mod:`.processor`). Import the submodules directly (they need transformers)."""
