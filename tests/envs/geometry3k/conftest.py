"""Fixture trees of Geometry3K in the public layouts (InterGPS folders, hub parquet shards), built here."""

import io
import json

import pytest
from PIL import Image

PROBLEMS = [  # (problem, choices, letter, precise value)
    ("Find x.", ["2\\sqrt{3}", "4", "6", "3\\sqrt{2}"], "A", 3.4641),
    ("Find m \\angle 1.", ["30", "60", "90", "120"], "C", 90.0),
    ("Find the area of the figure.", ["12.5", "25", "50", "100"], "B", 25.0),
]
SPLIT_IDS = {"train": [0, 1], "val": [2101], "test": [2401, 2402]}


def png(color=(200, 30, 30), size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def folder_tree(tmp_path):
    root = tmp_path / "geometry3k"
    for split, ids in SPLIT_IDS.items():
        for k, pid in enumerate(ids):
            text, choices, letter, value = PROBLEMS[k % len(PROBLEMS)]
            d = root / split / str(pid)
            d.mkdir(parents=True)
            meta = {
                "id": pid,
                "problem_text": text,
                "choices": choices,
                "answer": letter,
                "precise_value": value,
                "problem_type_graph": ["Triangle"],
                "problem_type_goal": ["Length"],
                "annotat_text": "",
            }
            (d / "data.json").write_text(json.dumps(meta))
            (d / "img_diagram.png").write_bytes(png())
    return root


@pytest.fixture
def parquet_tree(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    root = tmp_path / "hf"
    (root / "data").mkdir(parents=True)
    for split, n in (("train", 3), ("validation", 1), ("test", 2)):
        rows = [PROBLEMS[k % len(PROBLEMS)] for k in range(n)]
        table = pa.table(
            {
                "images": [[{"bytes": png((10 * k, 100, 50)), "path": None}] for k in range(n)],
                "problem": ["<image>" + r[0] for r in rows],
                "answer": [r[1]["ABCD".index(r[2])] for r in rows],
                "choices": [r[1] for r in rows],
                "ground_truth": [r[2] for r in rows],
            }
        )
        pq.write_table(table, root / "data" / f"{split}-00000-of-00001.parquet")
    return root
