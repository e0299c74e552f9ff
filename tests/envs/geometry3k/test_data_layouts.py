"""More layouts and stricter checks, on fixture trees built here in the public formats: the ``val``
alias, verl-style single parquet files, the older 3-column hub layout, null and inconsistent fields,
PNGs whose structure is fine but whose pixels do not decode, stray folders, the two problem texts."""

import io
import json
import struct
import zlib

import pytest
from PIL import Image

from tests.envs.geometry3k.conftest import PROBLEMS, png
from vlenvs.core.errors import DatasetError, InvalidConfigError
from vlenvs.envs.geometry3k.config import Geometry3kConfig
from vlenvs.envs.geometry3k.data import load_split

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def corrupt_png() -> bytes:
    """A PNG with valid chunks and checksums whose image data is not zlib: passes verify(), fails load()."""
    header = _chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + _chunk(b"IDAT", b"definitely not zlib data") + _chunk(b"IEND", b"")


def hub_rows(n: int, image=None) -> dict:
    rows = [PROBLEMS[k % len(PROBLEMS)] for k in range(n)]
    return {
        "images": [[{"bytes": image or png((10 * k, 100, 50)), "path": None}] for k in range(n)],
        "problem": ["<image>" + r[0] + " (annotated)" for r in rows],
        "answer": [r[1]["ABCD".index(r[2])] for r in rows],
        "choices": [r[1] for r in rows],
        "ground_truth": [r[2] for r in rows],
        "id": [str(100 + k) for k in range(n)],
    }


def verl_rows(n: int, with_choices: bool) -> dict:
    """What verl's examples/data_preprocess/geo3k.py writes: problem/answer moved into nested columns."""
    hub = hub_rows(n)
    out = {
        "data_source": ["hiyouga/geometry3k"] * n,
        "prompt": [[{"role": "user", "content": p + " Think first."}] for p in hub["problem"]],
        "images": hub["images"],
        "ability": ["math"] * n,
        "reward_model": [{"style": "rule", "ground_truth": a} for a in hub["answer"]],
        "extra_info": [{"split": "x", "index": k, "answer": a, "question": p} for k, (a, p) in
                       enumerate(zip(hub["answer"], hub["problem"]))],
    }
    if with_choices:
        out.update(choices=hub["choices"], ground_truth=hub["ground_truth"], id=hub["id"])
    return out


def test_val_and_validation_are_one_split(folder_tree):
    assert load_split(str(folder_tree), "val") == load_split(str(folder_tree), "validation")
    assert Geometry3kConfig(split="val").split == "validation"
    with pytest.raises(InvalidConfigError, match="'val'"):
        Geometry3kConfig(split="dev")


@pytest.mark.parametrize("with_choices", [True, False])
def test_verl_single_files(tmp_path, with_choices):
    for split, n in (("train", 3), ("test", 2)):
        pq.write_table(pa.table(verl_rows(n, with_choices)), tmp_path / f"{split}.parquet")
    train = load_split(str(tmp_path), "train")
    assert len(train) == 3 and train[0].problem == "Find x. (annotated)" and train[0].answer == "2\\sqrt{3}"
    assert len(load_split(str(tmp_path), "test")) == 2
    if with_choices:
        assert train[1].letter == "C" and load_split(str(tmp_path), "train", need_choices=True)[1].choices[2] == "90"
    else:
        assert train[1].letter is None and train[1].choices == ()
        with pytest.raises(DatasetError, match="free_form"):
            load_split(str(tmp_path), "train", need_choices=True)
    with pytest.raises(DatasetError, match="validation.parquet"):
        load_split(str(tmp_path), "val")


def test_older_three_column_layout_is_free_form_only(tmp_path):
    (tmp_path / "data").mkdir()
    hub = hub_rows(2)
    thin = {k: hub[k] for k in ("images", "problem", "answer")}
    pq.write_table(pa.table(thin), tmp_path / "data" / "train-00000-of-00001.parquet")
    records = load_split(str(tmp_path), "train")
    assert [r.answer for r in records] == ["2\\sqrt{3}", "90"] and records[0].letter is None
    with pytest.raises(DatasetError, match="train-00000-of-00001.parquet row 0.*free_form"):
        load_split(str(tmp_path), "train", need_choices=True)


@pytest.mark.parametrize(("column", "value", "message"), [
    ("problem", None, "'problem' is null"),
    ("answer", None, "'answer' is null"),
    ("choices", ["1", None, "3", "4"], r"'choices\[1\]' is null"),
    ("ground_truth", None, "'ground_truth' is null"),
    ("answer", "7", "'answer' '7' is not choice C"),
])
def test_null_and_inconsistent_parquet_fields_name_file_and_row(tmp_path, column, value, message):
    (tmp_path / "data").mkdir()
    rows = hub_rows(3)
    rows[column][1] = value
    path = tmp_path / "data" / "test-00000-of-00001.parquet"
    pq.write_table(pa.table(rows), path)
    with pytest.raises(DatasetError, match=f"{path} row 1: {message}"):
        load_split(str(tmp_path), "test")


def test_equal_values_in_other_spellings_pass_the_answer_check(tmp_path):
    (tmp_path / "data").mkdir()
    rows = hub_rows(1)
    rows["answer"][0] = "\\sqrt{12}"  # choice A is 2\sqrt{3}
    pq.write_table(pa.table(rows), tmp_path / "data" / "train-0.parquet")
    assert load_split(str(tmp_path), "train")[0].answer == "\\sqrt{12}"


def test_null_fields_in_folders_name_the_file(folder_tree):
    meta_path = folder_tree / "test" / "2402" / "data.json"
    meta = json.loads(meta_path.read_text())
    meta["choices"][3] = None
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match=rf"{meta_path}: 'choices\[3\]' is null"):
        load_split(str(folder_tree), "test")


def test_pixels_are_decoded_at_load(folder_tree, tmp_path):
    bad = corrupt_png()
    Image.open(io.BytesIO(bad)).verify()  # the structure check the old loader did passes
    target = folder_tree / "train" / "1" / "img_diagram.png"
    target.write_bytes(bad)
    with pytest.raises(DatasetError, match=str(target)):
        load_split(str(folder_tree), "train")
    (tmp_path / "data").mkdir()
    path = tmp_path / "data" / "train-0.parquet"
    pq.write_table(pa.table(hub_rows(2, image=bad)), path)
    with pytest.raises(DatasetError, match=f"{path} row 0"):
        load_split(str(tmp_path), "train")


def test_stray_folders_are_skipped(folder_tree):
    for stray in ("__MACOSX", ".ipynb_checkpoints"):
        (folder_tree / "train" / stray / "1").mkdir(parents=True)
        (folder_tree / "train" / stray / "._data.json").write_bytes(b"\x00\x05junk")
    assert [r.id for r in load_split(str(folder_tree), "train")] == ["0", "1"]
    (folder_tree / "train" / "7").mkdir()  # a numeric folder without data.json is still an error
    with pytest.raises(DatasetError, match="7/data.json"):
        load_split(str(folder_tree), "train")


def test_problem_text_choice(folder_tree, parquet_tree):
    meta_path = folder_tree / "train" / "0" / "data.json"
    meta = json.loads(meta_path.read_text())
    meta["annotat_text"] = "In triangle ABC, AB = 4. Find x."
    meta_path.write_text(json.dumps(meta))
    root = str(folder_tree)
    assert load_split(root, "train")[0].problem == "Find x."
    assert load_split(root, "train", text="original")[0].problem == "Find x."
    with pytest.raises(DatasetError, match=r"1/data.json: 'annotat_text' is empty"):
        load_split(root, "train", text="annotated")  # problem 1 of the fixture has no annotated text
    meta_path = folder_tree / "train" / "1" / "data.json"
    meta = json.loads(meta_path.read_text())
    meta["annotat_text"] = "Find the measure of angle 1."
    meta_path.write_text(json.dumps(meta))
    assert load_split(root, "train", text="annotated")[0].problem == "In triangle ABC, AB = 4. Find x."
    assert load_split(str(parquet_tree), "train", text="annotated")[0].problem == "Find x."
    with pytest.raises(DatasetError, match="annotated"):
        load_split(str(parquet_tree), "train", text="original")
    with pytest.raises(InvalidConfigError, match="problem_text"):
        Geometry3kConfig(problem_text="both")
