"""Special tokens the chat layer knows about."""

#: Vision special tokens of the Qwen-VL family: a sampled one would be taken for an image placeholder when
#: the reply is re-scored, so samplers suppress them (``SamplingConfig.suppress_vision_tokens``).
VISION_SPECIAL_TOKENS = ("<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>")
