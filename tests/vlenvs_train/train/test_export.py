"""Servable model folders: written by every training stage and by ``vlenvs-train export`` from any checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlenvs_train.cli import main  # noqa: E402
from vlenvs_train.policies.scoring import response_logprobs  # noqa: E402
from vlenvs_train.train import checkpoint  # noqa: E402
from vlenvs_train.train.trainer import Trainer  # noqa: E402

from ..policies.test_hf import requests  # noqa: E402
from .test_trainer import small_config  # noqa: E402


def test_every_training_stage_writes_a_servable_model_and_export_writes_one_from_any_checkpoint(
        tmp_path, tiny_model_path, hf_policy, capsys):
    from transformers import AutoModelForImageTextToText

    from vlenvs_train.models.processor import load_processor, torchvision_works
    from vlenvs_train.policies.encode import PromptEncoder

    trainer = Trainer(small_config(tmp_path, tiny_model_path, "run", ["sft.epochs=2"]), ["sft"])
    trainer.run()
    folder = trainer.out / "model"
    for name in ("config.json", "model.safetensors", "generation_config.json", "tokenizer.json", "chat_template.jinja",
                 "preprocessor_config.json", "video_preprocessor_config.json", "processor_config.json"):
        assert (folder / name).exists(), name
    if torchvision_works():
        from transformers import AutoProcessor

        AutoProcessor.from_pretrained(folder)
    exported = AutoModelForImageTextToText.from_pretrained(folder).eval()
    encoder = PromptEncoder(load_processor(folder))
    outputs = hf_policy.generate(requests(4))
    again = [encoder.encode(r.messages) for r in requests(4)]
    assert all(np.array_equal(a.prompt_ids, o.prompt_ids) for a, o in zip(again, outputs))  # same tokenization
    with torch.no_grad():
        want, mask = response_logprobs(trainer.model, outputs, pad_id=trainer.encoder.pad_id)
        got, _ = response_logprobs(exported, outputs, pad_id=encoder.pad_id)
    assert mask.any() and torch.equal(want, got)
    assert not torch.equal(want, response_logprobs(hf_policy.model, outputs, pad_id=encoder.pad_id)[0])  # trained

    target = tmp_path / "exported"
    first = checkpoint.list_checkpoints(trainer.out)[0]
    assert main(["export", str(trainer.out), str(target)]) == 0
    assert main(["export", str(trainer.out), str(tmp_path / "first"), "--checkpoint", str(first)]) == 0
    for f in ("model.safetensors", "video_preprocessor_config.json", "chat_template.jinja"):
        assert (target / f).read_bytes() == (folder / f).read_bytes(), f
    assert main(["export", str(tmp_path / "nope"), str(tmp_path / "x")]) == 2
    assert "nope" in capsys.readouterr().err
    # a run moved elsewhere (a file now sits where it was written) still exports: its old out_dir is not used
    moved = tmp_path / "moved"
    trainer.out.rename(moved)
    (tmp_path / "run").write_text("not a folder")
    assert main(["export", str(moved), str(tmp_path / "from_moved")]) == 0
    assert (tmp_path / "from_moved" / "model.safetensors").read_bytes() == (moved / "model" / "model.safetensors").read_bytes()
