"""Both on-disk layouts of Geometry3K load from fixture trees built here; bad trees raise DatasetError
naming the file; the env runs on the real-data source."""

import io
import json

import gymnasium as gym
import numpy as np
import pytest
from PIL import Image

import vlenvs  # noqa: F401 - registers the ids
from vlenvs.core.errors import DatasetError, InvalidConfigError
from vlenvs.envs.geometry3k.config import DATA_DIR_ENV
from tests.envs.geometry3k.conftest import png
from vlenvs.envs.geometry3k.data import load_split


def test_folder_layout_loads_every_split(folder_tree):
    train = load_split(str(folder_tree), "train")
    assert [r.id for r in train] == ["0", "1"]
    assert train[0].answer == "2\\sqrt{3}" and train[0].letter == "A" and train[0].precise_value == 3.4641
    assert train[0].problem_type == ("Triangle", "Length")
    assert len(load_split(str(folder_tree), "validation")) == 1  # the "val" folder
    assert len(load_split(str(folder_tree), "test")) == 2


def test_parquet_layout_loads_every_split(parquet_tree):
    train = load_split(str(parquet_tree), "train")
    assert len(train) == 3 and train[0].problem == "Find x." and train[0].answer == "2\\sqrt{3}"
    assert train[1].letter == "C" and train[1].answer == "90"
    assert Image.open(io.BytesIO(train[2].image_png)).size == (40, 30)
    assert len(load_split(str(parquet_tree), "validation")) == 1


def test_data_dir_from_environment_variable(folder_tree, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(folder_tree))
    assert len(load_split(None, "train")) == 2
    monkeypatch.delenv(DATA_DIR_ENV)
    with pytest.raises(DatasetError, match=DATA_DIR_ENV):
        load_split(None, "train")


def _corrupt(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "damage", ["missing_json", "bad_json", "missing_field", "bad_letter", "bad_png", "missing_png", "three_choices"]
)
def test_broken_folder_tree_names_the_file(folder_tree, damage):
    d = folder_tree / "train" / "1"
    meta = json.loads((d / "data.json").read_text())
    target = d / "data.json"
    if damage == "missing_json":
        target.unlink()
    elif damage == "bad_json":
        target.write_text("{not json")
    elif damage == "missing_field":
        del meta["choices"]
        target.write_text(json.dumps(meta))
    elif damage == "bad_letter":
        meta["answer"] = "E"
        target.write_text(json.dumps(meta))
    elif damage == "three_choices":
        meta["choices"] = meta["choices"][:3]
        target.write_text(json.dumps(meta))
    elif damage == "bad_png":
        target = _corrupt(d / "img_diagram.png", b"\x89PNG\r\n\x1a\n garbage")
    else:
        target = d / "img_diagram.png"
        target.unlink()
    with pytest.raises(DatasetError, match=str(target).replace("\\", "\\\\")):
        load_split(str(folder_tree), "train")


def test_broken_parquet_names_the_file(parquet_tree):
    pq = pytest.importorskip("pyarrow.parquet")
    pa = pytest.importorskip("pyarrow")
    bad = _corrupt(parquet_tree / "data" / "test-00000-of-00001.parquet", b"PAR1 this is not parquet")
    with pytest.raises(DatasetError, match=str(bad)):
        load_split(str(parquet_tree), "test")
    thin = parquet_tree / "data" / "validation-00000-of-00001.parquet"
    pq.write_table(pa.table({"problem": ["Find x."]}), thin)
    with pytest.raises(DatasetError, match="lacks column"):
        load_split(str(parquet_tree), "validation")
    (parquet_tree / "data" / "train-00000-of-00001.parquet").unlink()
    with pytest.raises(DatasetError, match="no train-"):
        load_split(str(parquet_tree), "train")


def test_missing_directory_and_layout(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_split(str(tmp_path / "nope"), "train")
    with pytest.raises(DatasetError, match="holds no layout"):
        load_split(str(tmp_path), "train")
    with pytest.raises(InvalidConfigError, match="valid choices"):
        load_split(str(tmp_path), "dev")


@pytest.mark.parametrize("tree", ["folder_tree", "parquet_tree"])
def test_env_on_the_real_data_source(tree, request):
    root = str(request.getfixturevalue(tree))
    env = gym.make("vlenvs/Geometry3k-v0", source="geometry3k", data_dir=root, mode="multiple_choice", image_size=48)
    obs, info = env.reset(seed=0)
    assert obs["image"].shape == (48, 48, 3) and obs["image"].dtype == np.uint8
    assert "Choices: A." in obs["instruction"] and info["problem_id"].startswith("train-")
    letter = info["ground_truth_letter"]
    obs, reward, terminated, truncated, info = env.step(f"\\boxed{{{letter}}}")
    assert (reward, terminated, truncated, info["success"]) == (1.0, True, False, True)
    free = gym.make("vlenvs/Geometry3k-v0", source="geometry3k", data_dir=root, image_size=48)
    _, info = free.reset(seed=0)
    _, reward, *_ = free.step(f"\\boxed{{{info['ground_truth']}}}")
    assert reward == 1.0
    seen = set()
    for seed in range(30):  # an equivalent spelling of 2√3 (precise_value 3.4641 is rounded) is correct too
        _, info = free.reset(seed=seed)
        if info["ground_truth"] == "2\\sqrt{3}":
            seen.add(free.step("\\boxed{\\sqrt{12}}")[1])
    assert seen == {1.0}
    venv = gym.make_vec("vlenvs/Geometry3k-v0", num_envs=2, source="geometry3k", data_dir=root, image_size=48)
    vobs, _ = venv.reset(seed=1)
    assert vobs["image"].shape == (2, 48, 48, 3)


def test_env_without_data_raises(monkeypatch):
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    with pytest.raises(DatasetError, match="nothing is downloaded"):
        gym.make("vlenvs/Geometry3k-v0", source="geometry3k")


def test_data_dir_without_the_dataset_source_is_an_error(folder_tree, monkeypatch):
    """data_dir given with the default generated source used to be silently ignored (issue 13 review)."""
    with pytest.raises(InvalidConfigError, match=r"data_dir=.*source='generated'.*generated, geometry3k"):
        gym.make("vlenvs/Geometry3k-v0", data_dir=str(folder_tree))
    env = gym.make("vlenvs/Geometry3k-v0", source="geometry3k", data_dir=str(folder_tree), image_size=32)
    assert env.reset(seed=0)[1]["problem_id"] is not None
    monkeypatch.setenv(DATA_DIR_ENV, str(folder_tree))  # the variable only serves the dataset source
    generated = gym.make("vlenvs/Geometry3k-v0", image_size=32)
    assert generated.unwrapped.config.source == "generated" and generated.unwrapped.config.data_dir is None
    assert generated.reset(seed=0)[1]["num_problems"] == -1  # generated problems, not the data tree
