"""Training algorithms as small functions: GRPO advantages and losses (:mod:`.grpo`), SFT data (:mod:`.sft`)."""
