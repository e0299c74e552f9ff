"""Checkpoint folders: exact round trips without pickle, atomic writes, and corruption that is never silent."""

from __future__ import annotations

import json
import pickle
import random
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")

from vlenvs.core.errors import VlenvsError  # noqa: E402
from vlenvs_train.train import checkpoint  # noqa: E402
from vlenvs_train.train.checkpoint import CheckpointError, CheckpointWarning  # noqa: E402
from vlenvs_train.train.checkpoint.codec import decode, encode  # noqa: E402

SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def small_state(seed=0):
    """A model, an AdamW that has stepped (so it has state), and bookkeeping like the trainer's."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 3))
    model[1].weight = torch.nn.Parameter(torch.randn(3, 8))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    model(torch.randn(5, 4)).sum().backward()
    opt.step()
    frames = {"eval_init": [[np.full((2, 2, 3), k, np.uint8) for k in range(3)]]}
    return model, opt, {"model": model.state_dict(), "optimizer": opt.state_dict(), "phase": "rl",
                        "state": {"done": ["eval_init"], "rl_step": 3, "frames": frames},
                        "trainer_rng": np.random.default_rng(7).bit_generator.state, "rng": checkpoint.rng_state(),
                        "config": {"grpo": {"lr": 1e-3, "betas": (0.9, 0.999)}, "name": "x"}}


def assert_same(a, b):
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b and type(a) is type(b)


def test_round_trip_is_exact_and_the_optimizer_continues_identically(tmp_path):
    model, opt, state = small_state()
    path = checkpoint.save_checkpoint(tmp_path, 5, state)
    assert path.name == "step_00000005" and (path / "manifest.json").exists()
    assert {p.name for p in path.iterdir()} == {"manifest.json", "model.safetensors", "optimizer.safetensors",
                                                "state.safetensors"}
    loaded = checkpoint.load_checkpoint(path)
    assert loaded["tag"] == 5
    for key in state:
        assert_same(state[key], loaded[key])
    # an optimizer restored from it takes exactly the step the original takes
    model2, _, _ = small_state(seed=1)
    model2.load_state_dict(loaded["model"])
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1e-3, weight_decay=0.01)
    opt2.load_state_dict(loaded["optimizer"])
    x = torch.randn(5, 4)
    for m, o in ((model, opt), (model2, opt2)):
        o.zero_grad()
        m(x).sum().backward()
        o.step()
    for a, b in zip(model.parameters(), model2.parameters()):
        assert torch.equal(a, b)


def test_rng_states_round_trip_through_json():
    state = json.loads(json.dumps(checkpoint.rng_state()))
    want = (random.random(), np.random.rand(), torch.rand(3))
    random.random(), np.random.rand(), torch.rand(7)  # move every stream on
    checkpoint.set_rng_state(state)
    got = (random.random(), np.random.rand(), torch.rand(3))
    assert want[0] == got[0] and want[1] == got[1] and torch.equal(want[2], got[2])


leaves = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False), st.text(max_size=5),
                   st.builds(lambda n, k: torch.arange(n, dtype=torch.float32) + k, st.integers(0, 4), st.integers(0, 9)),
                   st.builds(lambda n: np.arange(n, dtype=np.int16), st.integers(0, 3)))
trees = st.recursive(leaves, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.tuples(kids, kids),
    st.dictionaries(st.one_of(st.integers(0, 9), st.text(min_size=1, max_size=4)), kids, max_size=3)), max_leaves=12)


@given(trees)
def test_codec_inverts_any_nested_state(tree):
    tensors: dict = {}
    encoded = json.loads(json.dumps(encode(tree, tensors, "x")))  # what the manifest holds
    assert_same(tree, decode(encoded, tensors))


def test_loading_never_unpickles(tmp_path, monkeypatch):
    _, _, state = small_state()
    path = checkpoint.save_checkpoint(tmp_path, 1, state)

    def refuse(*a, **k):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    assert checkpoint.load_checkpoint(path)["phase"] == "rl"


def test_an_old_pickle_checkpoint_is_refused_by_name(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    torch.save({"model": {}}, tmp_path / "checkpoints" / "step_00000001.pt")
    with pytest.raises(CheckpointError, match=r"step_00000001\.pt.*pickle"):
        checkpoint.latest_valid_checkpoint(tmp_path)


def test_saving_keeps_the_newest_and_never_the_stale_temporary(tmp_path):
    _, _, state = small_state()
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / ".tmp-step_00000009-1").mkdir()  # a crashed write: never a candidate
    for tag in (1, 2, 3):
        checkpoint.save_checkpoint(tmp_path, tag, state, keep=2)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["step_00000002", "step_00000003"]
    assert checkpoint.latest_valid_checkpoint(tmp_path).path.name == "step_00000003"
    checkpoint.save_checkpoint(tmp_path, 3, {**state, "phase": "sft"}, keep=2)  # same tag: replaced whole
    assert checkpoint.load_checkpoint(tmp_path / "checkpoints" / "step_00000003")["phase"] == "sft"


def two_checkpoints(tmp_path):
    _, _, state = small_state()
    old = checkpoint.save_checkpoint(tmp_path, 1, state)
    new = checkpoint.save_checkpoint(tmp_path, 2, {**state, "phase": "new"})
    return old, new


def falls_back(tmp_path, old, bad_file, match):
    with pytest.warns(CheckpointWarning, match=match) as caught:
        loaded = checkpoint.latest_valid_checkpoint(tmp_path)
    assert loaded.path == old and loaded.state["phase"] == "rl"
    assert str(bad_file) in str(caught[0].message)
    with pytest.raises(CheckpointError, match=match) as e:
        checkpoint.load_checkpoint(bad_file.parent)
    assert isinstance(e.value, VlenvsError) and str(bad_file) in str(e.value)


@SLOW
@given(data=st.data())
def test_flipped_bytes_anywhere_are_detected_and_the_previous_checkpoint_used(tmp_path_factory, data):
    tmp_path = tmp_path_factory.mktemp("flip")
    old, new = two_checkpoints(tmp_path)
    name = data.draw(st.sampled_from(["model.safetensors", "optimizer.safetensors", "manifest.json"]))
    f = new / name
    raw = bytearray(f.read_bytes())
    start = data.draw(st.integers(0, len(raw) - 8))
    flip = data.draw(st.binary(min_size=8, max_size=8).filter(lambda b: any(b)))
    for k in range(8):
        raw[start + k] ^= flip[k]
    f.write_bytes(bytes(raw))
    falls_back(tmp_path, old, f, "corrupted|not valid JSON|not a vlenvs|version|lists")


@pytest.mark.parametrize("damage, match", [
    ("truncate", "bytes, the manifest says"),
    ("empty", "bytes, the manifest says"),
    ("missing", "is missing"),
    ("wrong_file", "bytes, the manifest says|corrupted"),
    ("no_manifest", "is missing"),
    ("bad_json", "not valid JSON"),
])
def test_damaged_newest_checkpoint_names_the_file_and_falls_back(tmp_path, damage, match):
    old, new = two_checkpoints(tmp_path)
    f = new / ("manifest.json" if damage in ("no_manifest", "bad_json") else "model.safetensors")
    if damage == "truncate":
        f.write_bytes(f.read_bytes()[:-100])
    elif damage in ("empty",):
        f.write_bytes(b"")
    elif damage in ("missing", "no_manifest"):
        f.unlink()
    elif damage == "wrong_file":
        f.write_bytes((old / "optimizer.safetensors").read_bytes())
    else:
        f.write_text('{"format": "vlenvs-checkpoint", ')
    falls_back(tmp_path, old, f, match)


def test_no_valid_checkpoint_is_a_typed_error_naming_every_one(tmp_path):
    old, new = two_checkpoints(tmp_path)
    (old / "model.safetensors").write_bytes(b"")
    (new / "manifest.json").unlink()
    with pytest.raises(CheckpointError) as e, warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback: an error, not a warning
        checkpoint.latest_valid_checkpoint(tmp_path)
    assert str(old / "model.safetensors") in str(e.value) and str(new / "manifest.json") in str(e.value)


def test_a_manifest_cannot_point_outside_its_folder(tmp_path):
    _, new = two_checkpoints(tmp_path)
    manifest = json.loads((new / "manifest.json").read_text())
    manifest["files"]["../../x.safetensors"] = manifest["files"].pop("model.safetensors")
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    from vlenvs_train.train.checkpoint.store import _canonical

    import hashlib

    manifest["checksum"] = hashlib.sha256(_canonical(body)).hexdigest()
    (new / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="invalid file name"):
        checkpoint.load_checkpoint(new)
