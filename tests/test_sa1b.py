"""sarle.sa1b: SA-1B per-image records, tar shards, TFDS conversions, torch.

The oracles are plain: ``json`` for the files, ``sarle.decode`` /
``sarle.label_map`` and pycocotools for the masks, numpy for the columns and
the filters, the TFDS formula written out in float64 for the boxes, and the
tar members written here for the shards. The records come from
``benchmarks/corpus.py`` (realistic SA-1B masks, SA-1B's bbox convention).
"""

from __future__ import annotations

import copy
import gc
import gzip
import io
import json
import os
import pickle
import random
import re
import sys
import tarfile
import types
import warnings
import weakref
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sarle
from sarle import sa1b

try:
    from pycocotools import mask as coco_mask
except ImportError:  # pragma: no cover - pycocotools is a test dependency
    coco_mask = None

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- corpus


def _corpus_module() -> Any:
    bench = str(ROOT / "benchmarks")
    if bench not in sys.path:
        sys.path.insert(0, bench)
    import corpus

    return corpus


#: (seed, (h, w), n_masks, image_id) of the small images the shards are made of.
SPECS = [
    (11, (120, 180), 8, 1),
    (12, (150, 100), 9, 2),
    (13, (96, 128), 7, 3),
]


@pytest.fixture(scope="module")
def corpus() -> Any:
    return _corpus_module()


@pytest.fixture(scope="module")
def _pristine(corpus: Any) -> List[Dict[str, Any]]:
    return [corpus.make_image(seed, shape=shape, n_masks=n, image_id=i) for seed, shape, n, i in SPECS]


@pytest.fixture
def dicts(_pristine: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Fresh (deep-copied) SA-1B per-image dicts; tests may change them."""
    return copy.deepcopy(_pristine)


@pytest.fixture
def record(dicts: List[Dict[str, Any]]) -> sa1b.ImageRecord:
    return sa1b.ImageRecord(dicts[0]["image"], dicts[0]["annotations"], source="sa_1.json")


def jpeg_bytes(h: int, w: int, seed: int = 0) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def json_bytes(data: Dict[str, Any]) -> bytes:
    return json.dumps(data).encode("utf-8")


def key_of(data: Dict[str, Any]) -> str:
    return data["image"]["file_name"][: -len(".jpg")]


def members_for(dicts: Sequence[Dict[str, Any]], prefix: str = "") -> List[Tuple[str, bytes]]:
    """SA-1B's member order: ``sa_N.jpg`` then ``sa_N.json``, image by image."""
    out = []
    for i, data in enumerate(dicts):
        key = key_of(data)
        h, w = data["image"]["height"], data["image"]["width"]
        out.append((f"{prefix}{key}.jpg", jpeg_bytes(h, w, seed=i)))
        out.append((f"{prefix}{key}.json", json_bytes(data)))
    return out


def write_tar(path: Path, members: Sequence[Tuple[str, bytes]], *, gz: bool = False) -> Path:
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return path


def write_dir(path: Path, members: Sequence[Tuple[str, bytes]]) -> Path:
    path.mkdir()
    for name, data in members:
        (path / name).write_bytes(data)
    return path


class NonSeekable(io.RawIOBase):
    """A pipe-like binary stream: read-only, not seekable, no tell."""

    def __init__(self, data: bytes, name: str = "pipe:shard") -> None:
        super().__init__()
        self._buffer = io.BytesIO(data)
        self.name = name
        self.reads = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, target: Any) -> int:
        self.reads += 1
        return self._buffer.readinto(target)

    def seek(self, *args: Any) -> int:
        raise io.UnsupportedOperation("not seekable")

    def tell(self) -> int:
        raise io.UnsupportedOperation("not seekable")


def summary(samples: Sequence[sa1b.Sample]) -> List[Tuple[str, Dict[str, Any], Optional[bytes]]]:
    return [(s.key, s.record.to_json(), s.jpeg) for s in samples]


# --------------------------------------------------------------------------- load / dump


def realistic_file(data: Dict[str, Any]) -> Dict[str, Any]:
    """An SA-1B file with the oddities real ones have, and unknown keys.

    Top-level keys in a non-standard order (an unknown one first), an unknown
    image key, unknown annotation keys (one in the middle), int bbox numbers
    in some annotations, predicted_iou above 1.
    """
    anns = []
    for i, ann in enumerate(data["annotations"]):
        ann = dict(ann)
        if i % 2 == 0:
            ann["bbox"] = [int(v) for v in ann["bbox"]]
            ann["crop_box"] = [int(v) for v in ann["crop_box"]]
        if i == 1:
            ann["predicted_iou"] = 1.019
        if i == 2:
            ann["predicted_iou"] = 1.0090000000000001
        if i == 3:  # an unknown key in the middle of the known ones
            items = list(ann.items())
            items.insert(3, ("model_version", "sam-vit-h"))
            ann = dict(items)
        ann["extra"] = {"note": f"n{i}", "list": [1, 2.5, None, True]}
        anns.append(ann)
    image = {"file_name": data["image"]["file_name"], **data["image"], "license": 3}
    return {"info": {"version": "1.0", "year": 2023}, "annotations": anns, "image": image,
            "zzz_last": [1, 2, 3]}


def key_orders(obj: Any) -> Any:
    """Every dict's key order, recursively (json.loads keeps file order)."""
    if isinstance(obj, dict):
        return [(k, key_orders(v)) for k, v in obj.items()]
    if isinstance(obj, list):
        return [key_orders(v) for v in obj]
    return type(obj).__name__


@pytest.fixture
def sa1b_file(tmp_path: Path, dicts: List[Dict[str, Any]]) -> Path:
    path = tmp_path / "sa_1.json"
    path.write_text(json.dumps(realistic_file(dicts[0])))
    return path


def _load_variants(path: Path) -> List[Tuple[str, sa1b.ImageRecord]]:
    text = path.read_text()
    out = [("str path", sa1b.load(str(path))), ("Path", sa1b.load(path)),
           ("bytes", sa1b.load(path.read_bytes())), ("str text", sa1b.load(text))]
    with open(path, "rb") as handle:
        out.append(("binary file", sa1b.load(handle)))
    with open(path, "r", encoding="utf-8") as handle:
        out.append(("text file", sa1b.load(handle)))
    out.append(("BytesIO", sa1b.load(io.BytesIO(path.read_bytes()))))
    out.append(("StringIO", sa1b.load(io.StringIO(text))))
    return out


def test_load_every_source_gives_the_file(sa1b_file: Path) -> None:
    original = json.loads(sa1b_file.read_text())
    for how, record in _load_variants(sa1b_file):
        assert record.to_json() == original, how
        assert key_orders(record.to_json()) == key_orders(original), how
        assert record.image == original["image"], how
        assert record.annotations == original["annotations"], how
        assert record.extra == {"info": original["info"], "zzz_last": original["zzz_last"]}, how
        assert len(record) == len(original["annotations"])


def test_load_names_its_source(sa1b_file: Path) -> None:
    assert sa1b.load(sa1b_file).source == str(sa1b_file)
    assert sa1b.load(sa1b_file.read_bytes()).source == "<bytes>"
    assert sa1b.load(sa1b_file.read_bytes(), source="x.json").source == "x.json"
    with open(sa1b_file, "rb") as handle:
        assert sa1b.load(handle).source == str(sa1b_file)


@pytest.mark.parametrize("dest", ["path", "os.PathLike", "text file", "binary file", "StringIO",
                                  "BytesIO", "None"])
def test_dump_then_load_round_trip(sa1b_file: Path, tmp_path: Path, dest: str) -> None:
    original = json.loads(sa1b_file.read_text())
    record = sa1b.load(sa1b_file)
    out = tmp_path / "out.json"
    if dest == "path":
        assert sa1b.dump(record, str(out)) is None
        text = out.read_text()
    elif dest == "os.PathLike":
        assert sa1b.dump(record, out) is None
        text = out.read_text()
    elif dest == "text file":
        with open(out, "w", encoding="utf-8") as handle:
            assert sa1b.dump(record, handle) is None
        text = out.read_text()
    elif dest == "binary file":
        with open(out, "wb") as handle:
            assert sa1b.dump(record, handle) is None
        text = out.read_text()
    elif dest == "StringIO":
        buffer = io.StringIO()
        assert sa1b.dump(record, buffer) is None
        text = buffer.getvalue()
    elif dest == "BytesIO":
        buffer = io.BytesIO()
        assert sa1b.dump(record, buffer) is None
        text = buffer.getvalue().decode("utf-8")
    else:
        text = sa1b.dump(record)
        assert isinstance(text, str)
    dumped = json.loads(text)
    assert dumped == original
    assert key_orders(dumped) == key_orders(original)  # key order, and int stays int
    again = sa1b.load(text.encode())
    assert again == record
    assert again.to_json() == original
    assert sorted(os.listdir(tmp_path)) == sorted(["sa_1.json"] + (["out.json"] if out.exists() else []))


def test_dump_keeps_ints_and_big_predicted_iou(sa1b_file: Path) -> None:
    dumped = json.loads(sa1b.dump(sa1b.load(sa1b_file)))
    anns = dumped["annotations"]
    assert all(type(v) is int for v in anns[0]["bbox"]) and all(type(v) is int for v in anns[0]["crop_box"])
    assert all(type(v) is float for v in anns[1]["bbox"])
    assert type(anns[0]["area"]) is int and type(anns[0]["id"]) is int
    assert anns[1]["predicted_iou"] == 1.019
    assert anns[2]["predicted_iou"] == 1.0090000000000001
    assert list(dumped) == ["info", "annotations", "image", "zzz_last"]
    assert list(anns[3])[3] == "model_version"
    assert anns[0]["extra"] == {"note": "n0", "list": [1, 2.5, None, True]}
    record = sa1b.load(sa1b_file)
    assert record.predicted_iou[1] == 1.019 and record.predicted_iou[2] == 1.0090000000000001


def test_dump_to_existing_path_replaces_it(tmp_path: Path, sa1b_file: Path) -> None:
    out = tmp_path / "target.json"
    out.write_text("old contents " * 1000)
    sa1b.dump(sa1b.load(sa1b_file), out)
    assert json.loads(out.read_text()) == json.loads(sa1b_file.read_text())
    assert sorted(os.listdir(tmp_path)) == ["sa_1.json", "target.json"]


def test_dump_of_a_subset_and_of_a_new_record(sa1b_file: Path) -> None:
    record = sa1b.load(sa1b_file)
    sub = json.loads(sa1b.dump(record[[4, 1]]))
    original = json.loads(sa1b_file.read_text())
    assert list(sub) == list(original)
    assert sub["annotations"] == [original["annotations"][4], original["annotations"][1]]
    assert sub["info"] == original["info"]
    plain = sa1b.ImageRecord(original["image"], original["annotations"])
    assert list(json.loads(sa1b.dump(plain))) == ["image", "annotations"]


@pytest.mark.parametrize("text, match", [
    (b'{"image": {"image_id": 1,', r"line 1 column \d+"),
    (b'{"image": {}, \n "annotations": [}', r"line 2 column \d+"),
    (b"[1, 2]", "JSON object"),
    (b'{"image": {"image_id": 1, "width": 2, "height": 2, "file_name": "a.jpg"}}', "annotations"),
    (b'{"annotations": []}', "image"),
    (b"\xff\xfe{}", "UTF-8|JSON"),
])
def test_load_bad_json_is_a_value_error_naming_the_source(text: bytes, match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        sa1b.load(text, source="bad.json")
    assert str(info.value).startswith("bad.json: ")


def test_load_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(ValueError, match="nope.json"):
        sa1b.load(missing)
    with pytest.raises(TypeError):
        sa1b.load(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("key, value", [
    ("width", "180"), ("height", -1), ("image_id", 1.0), ("file_name", 7), ("width", True),
])
def test_bad_image_fields(dicts: List[Dict[str, Any]], key: str, value: Any) -> None:
    data = dicts[0]
    data["image"][key] = value
    with pytest.raises(ValueError, match=f"src.json: image '{key}'"):
        sa1b.load(json_bytes(data), source="src.json")
    del data["image"][key]
    with pytest.raises(ValueError, match=f"src.json: image has no '{key}'"):
        sa1b.load(json_bytes(data), source="src.json")
    record = sa1b.load(json_bytes(data), source="src.json", check=False)  # deferred
    with pytest.raises(ValueError, match=key):
        getattr(record, key)


@pytest.mark.parametrize("key, value", [("width", 2**64), ("height", 2**70), ("width", -3), ("height", "9")])
def test_to_tfds_of_unchecked_record_with_bad_sides(dicts: List[Dict[str, Any]], key: str, value: Any) -> None:
    # found by fuzzing (fixed-to-tfds-overflow-*): a side beyond uint64 gave OverflowError
    data = dicts[0]
    data["annotations"] = []
    data["image"][key] = value
    record = sa1b.load(json_bytes(data), source="src.json", check=False)
    with pytest.raises(ValueError, match=f"src.json: image"):
        record.to_tfds()


def test_to_tfds_non_ascii_counts_names_the_annotation(dicts: List[Dict[str, Any]]) -> None:
    data = dicts[0]
    data["annotations"][1]["segmentation"]["counts"] = "0\u00e9"
    record = sa1b.load(json_bytes(data), source="src.json", check=False)
    with pytest.raises(ValueError, match="src.json: annotation 1 .*not ASCII"):
        record.to_tfds()


# --------------------------------------------------------------------------- columns

COLUMNS = {
    # column: (key, dtype, per-annotation shape)
    "ids": ("id", np.int64, ()),
    "areas": ("area", np.int64, ()),
    "bboxes": ("bbox", np.float64, (4,)),
    "predicted_iou": ("predicted_iou", np.float64, ()),
    "stability_score": ("stability_score", np.float64, ()),
    "point_coords": ("point_coords", np.float64, (2,)),
    "crop_boxes": ("crop_box", np.float64, (4,)),
}


@pytest.mark.parametrize("column", sorted(COLUMNS))
def test_columns(sa1b_file: Path, column: str) -> None:
    record = sa1b.load(sa1b_file)
    key, dtype, shape = COLUMNS[column]
    values = getattr(record, column)
    n = len(record)
    assert values.dtype == dtype
    assert values.shape == (n,) + shape
    expected = [ann[key] for ann in record.annotations]
    if column == "point_coords":
        expected = [point[0] for point in expected]
    assert values.tolist() == expected
    assert not values.flags.writeable
    with pytest.raises(ValueError):
        values[...] = 0
    assert getattr(record, column) is values  # computed once


def field_errors(data: Dict[str, Any], source: str = "sa_1.json") -> Tuple[str, str]:
    """The ``ValueError`` messages for a record with a bad field.

    First as :func:`sa1b.load` (which checks the record) plus the columns give
    it, then with ``check=False``, where the columns must raise on first use.
    """
    with pytest.raises(ValueError) as checked:
        record = sa1b.load(json_bytes(data), source=source)
        for column in COLUMNS:
            getattr(record, column)
    deferred = sa1b.load(json_bytes(data), source=source, check=False)
    with pytest.raises(ValueError) as lazy:
        for column in COLUMNS:
            getattr(deferred, column)
    return str(checked.value), str(lazy.value)


def test_columns_of_big_ids_and_int_numbers() -> None:
    image = {"image_id": 5, "width": 4, "height": 3, "file_name": "sa_5.jpg"}
    rle = sarle.encode(np.ones((3, 4), bool))
    anns = [{"id": 2**62 + k, "segmentation": rle, "bbox": [0, 0, 3, 2], "area": 12,
             "predicted_iou": 1, "point_coords": [[1, 2]], "stability_score": 1, "crop_box": [0, 0, 4, 3]}
            for k in range(2)]
    record = sa1b.ImageRecord(image, anns)
    assert record.ids.tolist() == [2**62, 2**62 + 1]
    assert record.predicted_iou.dtype == np.float64 and record.predicted_iou.tolist() == [1.0, 1.0]
    assert record.bboxes.dtype == np.float64 and record.bboxes.tolist() == [[0.0, 0.0, 3.0, 2.0]] * 2
    anns[1]["id"] = 2**63  # does not fit int64
    for message in field_errors({"image": image, "annotations": anns}, "big.json"):
        assert re.match(r"big\.json: annotation 1 \(id 9223372036854775808\): 'id' must be", message), message


@pytest.mark.parametrize("column", sorted(COLUMNS))
def test_missing_field_names_annotation_and_id(dicts: List[Dict[str, Any]], column: str) -> None:
    key = COLUMNS[column][0]
    data = dicts[0]
    ident = data["annotations"][5]["id"]
    del data["annotations"][5][key]
    where = "annotation 5" if key == "id" else rf"annotation 5 \(id {ident}\)"
    for message in field_errors(data):
        assert re.match(rf"sa_1\.json: {where}: no '{key}' field", message), message
    deferred = sa1b.load(json_bytes(data), source="sa_1.json", check=False)
    with pytest.raises(ValueError, match=rf"^sa_1\.json: {where}: no '{key}' field"):
        getattr(deferred, column)


MISTYPED = [
    ("areas", "area", "256"),
    ("areas", "area", True),
    ("areas", "area", 12.5),
    ("areas", "area", None),
    ("ids", "id", 7.0),
    ("ids", "id", True),
    ("ids", "id", "7"),
    ("bboxes", "bbox", [1.0, 2.0, 3.0]),
    ("bboxes", "bbox", [1.0, 2.0, 3.0, 4.0, 5.0]),
    ("bboxes", "bbox", "1 2 3 4"),
    ("bboxes", "bbox", [[1.0, 2.0, 3.0, 4.0]]),
    ("bboxes", "bbox", [1.0, "2", 3.0, 4.0]),
    ("point_coords", "point_coords", [[1.5, 2.5], [3.5, 4.5]]),
    ("point_coords", "point_coords", [1.5, 2.5]),
    ("point_coords", "point_coords", [[1.5]]),
    ("predicted_iou", "predicted_iou", "0.9"),
    ("predicted_iou", "predicted_iou", True),
    ("predicted_iou", "predicted_iou", [0.9]),
    ("stability_score", "stability_score", None),
    ("stability_score", "stability_score", False),
    ("crop_boxes", "crop_box", [0.0, 0.0, 180.0]),
]


@pytest.mark.parametrize("column, key, value", MISTYPED, ids=[f"{k}={v!r}" for _, k, v in MISTYPED])
def test_mistyped_field_names_annotation_and_id(dicts: List[Dict[str, Any]], column: str, key: str,
                                                value: Any) -> None:
    data = dicts[0]
    ident = data["annotations"][3]["id"]
    data["annotations"][3][key] = value
    where = r"annotation 3( \(id [^)]*\))?" if key == "id" else rf"annotation 3 \(id {ident}\)"
    for message in field_errors(data):
        assert re.match(rf"sa_1\.json: {where}: '{key}' must be", message), message
    deferred = sa1b.load(json_bytes(data), source="sa_1.json", check=False)
    with pytest.raises(ValueError, match=rf"^sa_1\.json: {where}: '{key}' must be"):
        getattr(deferred, column)


def test_mistyped_field_in_the_only_annotation(dicts: List[Dict[str, Any]]) -> None:
    data = dicts[0]
    data["annotations"] = data["annotations"][2:3]
    data["annotations"][0]["area"] = 3.5
    for message in field_errors(data):
        assert re.match(r"sa_1\.json: annotation 0 \(id \d+\): 'area'", message), message


@pytest.mark.parametrize("size", [[121, 180], [120, 181], [180, 120], [120], [120.0, 180.0], "120x180"])
def test_segmentation_size_disagreeing_with_image(dicts: List[Dict[str, Any]], size: Any) -> None:
    data = dicts[0]
    ann = data["annotations"][4]
    ann["segmentation"]["size"] = size
    with pytest.raises(ValueError, match=rf"^x\.json: annotation 4 \(id {ann['id']}\): segmentation size"):
        sa1b.load(json_bytes(data), source="x.json")
    with pytest.raises(ValueError, match=r"annotation 4"):
        sa1b.ImageRecord(data["image"], data["annotations"])


@pytest.mark.parametrize("segmentation", [None, {"counts": "00"}, {"size": [120, 180]}, [1, 2, 3],
                                          {"size": [120, 180], "counts": 12}])
def test_bad_segmentation_names_annotation(dicts: List[Dict[str, Any]], segmentation: Any) -> None:
    data = dicts[0]
    ident = data["annotations"][6]["id"]
    data["annotations"][6]["segmentation"] = segmentation
    with pytest.raises(ValueError, match=rf"^x\.json: annotation 6 \(id {ident}\): '?segmentation"):
        sa1b.load(json_bytes(data), source="x.json")
    del data["annotations"][6]["segmentation"]
    with pytest.raises(ValueError, match=rf"annotation 6 \(id {ident}\): 'segmentation'"):
        sa1b.load(json_bytes(data), source="x.json")


def test_annotation_not_a_dict(dicts: List[Dict[str, Any]]) -> None:
    data = dicts[0]
    data["annotations"][2] = [1, 2]
    with pytest.raises(ValueError, match=r"annotation 2 must be a dict"):
        sa1b.load(json_bytes(data), source="x.json")
    with pytest.raises(TypeError):
        sa1b.ImageRecord(data["image"], tuple(data["annotations"]))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        sa1b.ImageRecord([], data["annotations"])  # type: ignore[arg-type]


def test_record_without_annotations(dicts: List[Dict[str, Any]]) -> None:
    image = dicts[0]["image"]
    record = sa1b.ImageRecord(image, [])
    h, w = image["height"], image["width"]
    assert len(record) == 0 and list(record) == []
    masks = record.masks()
    assert masks.shape == (0, h, w) and masks.dtype == np.bool_
    assert record.masks(size=(10, 20)).shape == (0, 10, 20)
    assert record.masks(order="F").shape == (0, h, w)
    labels = record.label_map()
    assert labels.shape == (h, w) and labels.dtype == np.int32 and not labels.any()
    assert record.label_map(dtype=np.uint8).dtype == np.uint8
    for column, (_, dtype, shape) in COLUMNS.items():
        values = getattr(record, column)
        assert values.shape == (0,) + shape, column
        assert values.dtype == dtype, column
    assert record.mask_bboxes().shape == (0, 4)
    assert record.mask_areas().shape == (0,)
    assert record.segmentations == []
    assert len(record.filter(min_predicted_iou=0.5, min_area=3, max_area_fraction=0.5)) == 0
    again = sa1b.load(sa1b.dump(record).encode())
    assert again == record and again.to_json() == {"image": image, "annotations": []}
    tf = record.to_tfds()
    assert tf["bbox"].shape == (0, 4) and tf["bbox"].dtype == np.float32
    assert tf["point_coords"].shape == (0, 1, 2)
    assert tf["segmentation"]["size"].shape == (0, 2) and tf["segmentation"]["counts"].shape == (0,)
    assert sa1b.from_tfds(tf, image=image) == record
    assert "0 annotations" in repr(record)


# --------------------------------------------------------------------------- masks


def test_masks_equal_decode(record: sa1b.ImageRecord) -> None:
    rles = record.segmentations
    assert all(r is a["segmentation"] for r, a in zip(rles, record.annotations))
    expected = sarle.decode(rles)
    masks = record.masks()
    assert masks.shape == (len(record), record.height, record.width) and masks.dtype == np.bool_
    assert masks.flags.c_contiguous
    np.testing.assert_array_equal(masks, expected)
    # and the stored areas are the decoded pixel counts (the corpus is exact)
    np.testing.assert_array_equal(masks.sum(axis=(1, 2)), record.areas)


def test_masks_order_f(record: sa1b.ImageRecord) -> None:
    masks = record.masks(order="F")
    np.testing.assert_array_equal(masks, sarle.decode(record.segmentations))
    assert all(m.flags.f_contiguous for m in masks)
    if coco_mask is not None:
        with warnings.catch_warnings():  # pycocotools 2.0.11 + numpy 2: a DeprecationWarning
            warnings.simplefilter("ignore", DeprecationWarning)
            coco = coco_mask.decode([dict(r) for r in record.segmentations])
        np.testing.assert_array_equal(masks.transpose(1, 2, 0), coco.astype(bool))


@pytest.mark.parametrize("size", [(60, 90), (7, 300), (1, 1), (120, 180)])
def test_masks_size(record: sa1b.ImageRecord, size: Tuple[int, int]) -> None:
    masks = record.masks(size=size)
    full = sarle.decode(record.segmentations)
    rows = sarle.nearest_indices(record.height, size[0])
    cols = sarle.nearest_indices(record.width, size[1])
    assert masks.shape == (len(record),) + size
    np.testing.assert_array_equal(masks, full[:, rows][:, :, cols])
    np.testing.assert_array_equal(masks, sarle.decode(record.segmentations, size=size))


@pytest.mark.parametrize("indices", [[0], [5, 0, 5], [-1, 2], np.array([3, 1], dtype=np.int32), [],
                                     (7,), range(2, 5)])
def test_masks_indices(record: sa1b.ImageRecord, indices: Any) -> None:
    full = sarle.decode(record.segmentations)
    picked = [int(i) for i in indices]
    masks = record.masks(indices=indices)
    assert masks.shape == (len(picked), record.height, record.width)
    np.testing.assert_array_equal(masks, full[picked] if picked else full[:0])


def test_masks_bool_indices(record: sa1b.ImageRecord) -> None:
    full = sarle.decode(record.segmentations)
    keep = record.areas > 50
    assert 0 < keep.sum() < len(record)
    np.testing.assert_array_equal(record.masks(indices=keep), full[keep])
    np.testing.assert_array_equal(record.masks(indices=list(keep)), full[keep])
    np.testing.assert_array_equal(record.masks(indices=keep, size=(30, 45)),
                                  sarle.decode(record.segmentations, size=(30, 45))[keep])


@pytest.mark.parametrize("indices", [[8], [0, 9], [-9], [100]])
def test_masks_index_out_of_range(record: sa1b.ImageRecord, indices: Any) -> None:
    assert len(record) == 8
    with pytest.raises(IndexError):
        record.masks(indices=indices)


def test_masks_bool_indices_of_the_wrong_length(record: sa1b.ImageRecord) -> None:
    # numpy and record[bool_array] both refuse a boolean index of the wrong length
    with pytest.raises(IndexError):
        record[np.array([True, False])]
    with pytest.raises(IndexError):
        record.masks(indices=np.array([True, False]))
    with pytest.raises(IndexError):
        record.masks(indices=np.ones(len(record) + 1, dtype=bool))


def test_masks_bad_indices_type(record: sa1b.ImageRecord) -> None:
    with pytest.raises(TypeError):
        record.masks(indices=[0.5, 1.0])
    with pytest.raises(TypeError):
        record.masks(indices=[[0, 1]])


@pytest.mark.parametrize("corrupt", ["", "!!!", "0", "ko22e32N01OXda0ko22"])
@pytest.mark.parametrize("k", [0, 5, 7])
def test_corrupt_counts_named(dicts: List[Dict[str, Any]], corrupt: str, k: int) -> None:
    data = dicts[0]
    ident = data["annotations"][k]["id"]
    data["annotations"][k]["segmentation"]["counts"] = corrupt
    # counts strings are checked when used (check=False: whatever load checks, masks() must name it)
    record = sa1b.ImageRecord(data["image"], data["annotations"], source="sa_1.json", check=False)
    where = rf"^sa_1\.json: annotation {k} \(id {ident}\): "
    with pytest.raises(ValueError, match=where):
        record.masks()
    with pytest.raises(ValueError, match=where):
        record.masks(order="F", size=(30, 40))
    other = (k + 3) % len(record)
    with pytest.raises(ValueError, match=where):
        record.masks(indices=[other, k])
    with pytest.raises(ValueError, match=where):
        record.masks(indices=[k - len(record)])
    keep = np.zeros(len(record), dtype=bool)
    keep[[k, other]] = True
    with pytest.raises(ValueError, match=where):
        record.masks(indices=keep)
    with pytest.raises(ValueError, match=where):
        record.label_map()
    with pytest.raises(ValueError, match=where):
        record.mask_bboxes()
    with pytest.raises(ValueError, match=where):
        record.mask_areas()
    # the other masks still decode
    np.testing.assert_array_equal(record.masks(indices=[other]),
                                  sarle.decode([record.annotations[other]["segmentation"]]))


def test_label_map(record: sa1b.ImageRecord) -> None:
    rles = record.segmentations
    np.testing.assert_array_equal(record.label_map(), sarle.label_map(rles))
    np.testing.assert_array_equal(record.label_map(paint="area"), sarle.label_map(rles, paint="area"))
    np.testing.assert_array_equal(record.label_map(size=(33, 44), dtype=np.uint16),
                                  sarle.label_map(rles, size=(33, 44), dtype=np.uint16))
    # plain numpy: the last mask covering a pixel wins
    masks = sarle.decode(rles)
    expected = np.zeros((record.height, record.width), dtype=np.int32)
    for i, mask in enumerate(masks):
        expected[mask] = i + 1
    np.testing.assert_array_equal(record.label_map(), expected)
    assert record.label_map(order="F").flags.f_contiguous


def test_mask_bboxes_and_areas_against_pycocotools(dicts: List[Dict[str, Any]]) -> None:
    if coco_mask is None:  # pragma: no cover
        pytest.skip("pycocotools not installed")
    for data in dicts:
        record = sa1b.ImageRecord(data["image"], data["annotations"])
        rles = [{"size": r["size"], "counts": r["counts"].encode()} for r in record.segmentations]
        true = record.mask_bboxes()
        assert true.dtype == np.float64 and true.shape == (len(record), 4)
        np.testing.assert_array_equal(true, coco_mask.toBbox(rles))
        np.testing.assert_array_equal(record.mask_areas(), coco_mask.area(rles).astype(np.uint64))
        np.testing.assert_array_equal(record.mask_areas(), record.areas)
        # SA-1B's stored bbox: toBbox with w and h one less ([0, 0, 0, 0] for the empty mask)
        expected = true.copy()
        expected[:, 2:] = np.maximum(expected[:, 2:] - 1, 0)
        np.testing.assert_array_equal(record.bboxes, expected)
        assert (record.areas == 0).any() and (record.areas == record.height * record.width).any()


# --------------------------------------------------------------------------- filter


def reference_filter(record: sa1b.ImageRecord, iou: Optional[float] = None, stab: Optional[float] = None,
                     area: Optional[int] = None, frac: Optional[float] = None) -> List[int]:
    """Indices kept, computed from the dicts with plain Python comparisons."""
    pixels = record.height * record.width
    out = []
    for i, ann in enumerate(record.annotations):
        if iou is not None and not ann["predicted_iou"] >= iou:
            continue
        if stab is not None and not ann["stability_score"] >= stab:
            continue
        if area is not None and not ann["area"] >= area:
            continue
        if frac is not None and not ann["area"] / pixels <= frac:
            continue
        out.append(i)
    return out


def _check_filter(record: sa1b.ImageRecord, expected: List[int], **bounds: Any) -> sa1b.ImageRecord:
    kept = record.filter(**bounds)
    assert isinstance(kept, sa1b.ImageRecord)
    assert len(kept) == len(expected), bounds
    assert all(a is record.annotations[i] for a, i in zip(kept.annotations, expected)), bounds
    assert kept.image is record.image
    return kept


@pytest.mark.parametrize("criterion", ["iou", "stab", "area", "frac"])
def test_filter_bounds_are_inclusive(dicts: List[Dict[str, Any]], criterion: str) -> None:
    names = {"iou": ("min_predicted_iou", "predicted_iou"), "stab": ("min_stability_score", "stability_score"),
             "area": ("min_area", "areas"), "frac": ("max_area_fraction", "areas")}
    for data in dicts:
        record = sa1b.ImageRecord(data["image"], data["annotations"])
        keyword, column = names[criterion]
        values = getattr(record, column)
        pixels = record.height * record.width
        for k in range(len(record)):
            bound = values[k] / pixels if criterion == "frac" else values[k]
            if criterion == "area":
                bound = int(bound)
            else:
                bound = float(bound)
            expected = reference_filter(record, **{criterion: bound})
            assert k in expected  # the annotation at the bound is kept
            _check_filter(record, expected, **{keyword: bound})
            # numpy formulation of the same thing
            if criterion == "frac":
                ref = np.flatnonzero(record.areas / pixels <= bound)
            elif criterion == "area":
                ref = np.flatnonzero(record.areas >= bound)
            else:
                ref = np.flatnonzero(values >= bound)
            assert ref.tolist() == expected


def test_filter_max_area_fraction_at_the_bound() -> None:
    # 11 / (120 * 180) * (120 * 180) < 11 in float64: an inclusive bound must still keep it
    h, w = 120, 180
    anns = []
    for k, area in enumerate([11, 22, 29, 44, 100]):
        mask = np.zeros(h * w, dtype=bool)
        mask[:area] = True
        mask = mask.reshape(w, h).T  # column-major: the first `area` pixels down column 0, 1, ...
        rle = sarle.encode(mask)
        anns.append({"id": k + 1, "segmentation": rle, "bbox": [0.0, 0.0, 0.0, 0.0], "area": area,
                     "predicted_iou": 0.9, "point_coords": [[0.5, 0.5]], "stability_score": 0.95,
                     "crop_box": [0.0, 0.0, 180.0, 120.0]})
    record = sa1b.ImageRecord({"image_id": 1, "width": w, "height": h, "file_name": "sa_1.jpg"}, anns)
    assert record.mask_areas().tolist() == [11, 22, 29, 44, 100]
    for k, area in enumerate([11, 22, 29, 44, 100]):
        fraction = area / (h * w)
        kept = record.filter(max_area_fraction=fraction)
        assert kept.areas.tolist() == [a for a in [11, 22, 29, 44, 100] if a / (h * w) <= fraction], (
            f"area {area}, max_area_fraction={fraction!r}")


def test_filter_combined(dicts: List[Dict[str, Any]]) -> None:
    rng = np.random.default_rng(5)
    for data in dicts:
        record = sa1b.ImageRecord(data["image"], data["annotations"])
        for _ in range(30):
            iou = float(rng.choice(record.predicted_iou)) if rng.random() < 0.7 else None
            stab = float(rng.choice(record.stability_score)) if rng.random() < 0.7 else None
            area = int(rng.choice(record.areas)) if rng.random() < 0.7 else None
            frac = float(rng.uniform(0, 1.2)) if rng.random() < 0.7 else None
            expected = reference_filter(record, iou, stab, area, frac)
            kept = _check_filter(record, expected, min_predicted_iou=iou, min_stability_score=stab,
                                 min_area=area, max_area_fraction=frac)
            np.testing.assert_array_equal(kept.areas, record.areas[expected])
            np.testing.assert_array_equal(kept.masks(), record.masks(indices=expected))


def test_filter_nothing_and_everything(record: sa1b.ImageRecord) -> None:
    everything = record.filter()
    assert everything == record and everything is not record
    assert all(a is b for a, b in zip(everything, record))
    assert len(record.filter(min_predicted_iou=2.0)) == 0
    assert len(record.filter(max_area_fraction=-1.0)) == 0
    assert len(record.filter(min_area=0)) == len(record)
    assert len(record.filter(max_area_fraction=1.0)) == len(record)
    # the original is untouched
    assert len(record) == 8
    assert record.filter(min_predicted_iou=np.float32(0.0)).annotations == record.annotations


# --------------------------------------------------------------------------- sequence protocol


def test_indexing(record: sa1b.ImageRecord) -> None:
    anns = record.annotations
    assert record[0] is anns[0] and record[-1] is anns[-1] and record[np.int64(3)] is anns[3]
    with pytest.raises(IndexError):
        record[8]
    sliced = record[1:6:2]
    assert isinstance(sliced, sa1b.ImageRecord)
    assert [id(a) for a in sliced] == [id(anns[i]) for i in (1, 3, 5)]
    picked = record[[6, 0, 6]]
    assert [a is anns[i] for a, i in zip(picked, [6, 0, 6])] == [True] * 3
    np.testing.assert_array_equal(picked.areas, record.areas[[6, 0, 6]])
    np.testing.assert_array_equal(picked.masks(), record.masks()[[6, 0, 6]])
    keep = np.array([True, False] * 4)
    assert [id(a) for a in record[keep]] == [id(anns[i]) for i in (0, 2, 4, 6)]
    assert len(record[np.array([], dtype=np.int64)]) == 0 and len(record[[]]) == 0
    with pytest.raises(IndexError):
        record[np.ones(3, dtype=bool)]
    with pytest.raises(IndexError):
        record[[0, 8]]
    with pytest.raises(TypeError):
        record["id"]
    with pytest.raises(TypeError):
        record[1.0]
    assert sliced.image is record.image and sliced.source == record.source


def test_len_iter_eq_repr(dicts: List[Dict[str, Any]], record: sa1b.ImageRecord) -> None:
    assert len(record) == 8
    assert [a for a in record] == record.annotations
    assert all(a is b for a, b in zip(record, record.annotations))
    same = sa1b.load(json_bytes(dicts[0]))
    assert same == record and not (same != record)
    other = sa1b.load(json_bytes(dicts[1]))
    assert other != record
    changed = copy.deepcopy(dicts[0])
    changed["annotations"][4]["predicted_iou"] += 1e-9
    assert sa1b.load(json_bytes(changed)) != record
    assert record != record[1:]
    assert (record == 3) is False and record != "x"
    with pytest.raises(TypeError):
        hash(record)
    text = repr(record)
    assert "sa_1.jpg" in text and "120x180" in text and "8 annotations" in text
    broken = sa1b.ImageRecord({"width": 3}, [], check=False, source="odd.json")
    assert "odd.json" in repr(broken)
    assert record.where(2) == f"sa_1.json: annotation 2 (id {record.annotations[2]['id']})"
    assert (record.image_id, record.width, record.height, record.file_name) == (1, 180, 120, "sa_1.jpg")


# --------------------------------------------------------------------------- TFDS


def test_to_tfds_types_and_values(dicts: List[Dict[str, Any]]) -> None:
    for data in dicts:
        record = sa1b.ImageRecord(data["image"], data["annotations"])
        n, h, w = len(record), record.height, record.width
        tf = record.to_tfds()
        assert set(tf) == {"area", "bbox", "crop_box", "id", "point_coords", "predicted_iou",
                           "segmentation", "stability_score"}
        anns = data["annotations"]
        assert tf["area"].dtype == np.uint64 and tf["area"].shape == (n,)
        assert tf["area"].tolist() == [a["area"] for a in anns]
        assert tf["id"].dtype == np.uint64 and tf["id"].tolist() == [a["id"] for a in anns]
        for key in ("bbox", "crop_box"):
            assert tf[key].dtype == np.float32 and tf[key].shape == (n, 4)
            xywh = np.array([a[key] for a in anns], dtype=np.float64)
            x, y, bw, bh = xywh.T
            expected = np.stack([y / h, x / w, (y + bh) / h, (x + bw) / w], axis=1).astype(np.float32)
            np.testing.assert_array_equal(tf[key], expected)
            assert (tf[key] >= 0).all() and (tf[key] <= 1).all()
        assert tf["point_coords"].dtype == np.float64 and tf["point_coords"].shape == (n, 1, 2)
        assert tf["point_coords"].tolist() == [a["point_coords"] for a in anns]
        for key in ("predicted_iou", "stability_score"):
            assert tf[key].dtype == np.float64 and tf[key].shape == (n,)
            assert tf[key].tolist() == [a[key] for a in anns]
            assert tf[key].flags.writeable  # a copy, not the record's read-only column
        seg = tf["segmentation"]
        assert seg["counts"].dtype == object and seg["counts"].shape == (n,)
        assert all(type(c) is bytes for c in seg["counts"])
        assert [c.decode() for c in seg["counts"]] == [a["segmentation"]["counts"] for a in anns]
        assert seg["size"].dtype == np.uint64 and seg["size"].shape == (n, 2)
        assert seg["size"].tolist() == [[h, w]] * n
        # the codec reads the TFDS form directly
        np.testing.assert_array_equal(sarle.decode(seg), record.masks())


def test_from_tfds_round_trip(sa1b_file: Path, dicts: List[Dict[str, Any]]) -> None:
    records = [sa1b.ImageRecord(d["image"], d["annotations"]) for d in dicts]
    records.append(sa1b.load(sa1b_file).filter())  # int boxes, predicted_iou > 1, extra keys
    for record in records:
        tf = record.to_tfds()
        back = sa1b.from_tfds(tf, image=record.image)
        plain = [{k: a[k] for k in sa1b.ANNOTATION_FIELDS} for a in record.annotations]
        assert back.annotations == plain
        assert [list(a) for a in back.annotations] == [list(sa1b.ANNOTATION_FIELDS)] * len(record)
        assert all(type(a["id"]) is int and type(a["area"]) is int for a in back.annotations)
        assert all(type(a["segmentation"]["counts"]) is str for a in back.annotations)
        np.testing.assert_array_equal(back.bboxes, record.bboxes)
        np.testing.assert_array_equal(back.crop_boxes, record.crop_boxes)
        np.testing.assert_array_equal(back.masks(), record.masks())
        if not record.extra and all(set(a) == set(sa1b.ANNOTATION_FIELDS) for a in record):
            assert back == record


def test_from_tfds_whole_example_with_numpy_fields(record: sa1b.ImageRecord) -> None:
    tf = record.to_tfds()
    example = {
        "image": {
            "content": np.zeros((record.height, record.width, 3), np.uint8),
            "file_name": record.file_name.encode(),
            "height": np.uint64(record.height),
            "width": np.array(record.width, dtype=np.uint64),
            "image_id": np.int64(record.image_id),
        },
        "annotations": tf,
    }
    back = sa1b.from_tfds(example)
    assert back == record
    assert back.image == record.image and all(type(v) in (int, str) for v in back.image.values())
    assert "content" not in back.image
    # the example's image wins over image=
    assert sa1b.from_tfds(example, image={"image_id": 9, "width": 1, "height": 1, "file_name": "x"}) == record


def test_from_tfds_annotations_only(record: sa1b.ImageRecord) -> None:
    back = sa1b.from_tfds(record.to_tfds())
    assert back.annotations == record.annotations
    assert (back.height, back.width) == (record.height, record.width)
    np.testing.assert_array_equal(back.masks(), record.masks())
    with pytest.raises(ValueError):
        back.image_id
    empty = sa1b.ImageRecord(record.image, []).to_tfds()
    with pytest.raises(ValueError, match="image="):
        sa1b.from_tfds(empty)


def test_from_tfds_bad_input(record: sa1b.ImageRecord) -> None:
    tf = record.to_tfds()
    with pytest.raises(TypeError):
        sa1b.from_tfds([tf])  # type: ignore[arg-type]
    missing = dict(tf)
    del missing["stability_score"]
    with pytest.raises(ValueError, match="stability_score"):
        sa1b.from_tfds(missing, image=record.image)
    short = dict(tf)
    short["area"] = tf["area"][:-1]
    with pytest.raises(ValueError, match="area"):
        sa1b.from_tfds(short, image=record.image)
    bad = dict(tf)
    bad["bbox"] = tf["bbox"][:, :3]
    with pytest.raises(ValueError):
        sa1b.from_tfds(bad, image=record.image)


def test_tfds_bbox_single_and_many() -> None:
    one = sa1b.tfds_bbox([10, 20, 30, 40], 100, 200)
    assert one.dtype == np.float32 and one.shape == (4,)
    np.testing.assert_array_equal(one, np.array([20 / 100, 10 / 200, 60 / 100, 40 / 200], np.float32))
    boxes = np.array([[0, 0, 200, 100], [199, 99, 0, 0], [10.5, 3.25, 7, 8]])
    many = sa1b.tfds_bbox(boxes, 100, 200)
    assert many.shape == (3, 4) and many.dtype == np.float32
    np.testing.assert_array_equal(many[0], [0, 0, 1, 1])
    np.testing.assert_array_equal(many[2], np.float32([3.25 / 100, 10.5 / 200, 11.25 / 100, 17.5 / 200]))
    back = sa1b.xywh_from_tfds(many, 100, 200)
    assert back.shape == (3, 4) and back.dtype == np.float64
    np.testing.assert_array_equal(back[:2], boxes[:2])
    np.testing.assert_allclose(back[2], boxes[2], atol=1e-4)
    np.testing.assert_array_equal(sa1b.xywh_from_tfds(one, 100, 200), [10, 20, 30, 40])
    assert sa1b.tfds_bbox(np.zeros((0, 4)), 5, 5).shape == (0, 4)
    assert sa1b.xywh_from_tfds(np.zeros((0, 4)), 5, 5).shape == (0, 4)
    raw = sa1b.xywh_from_tfds(sa1b.tfds_bbox([1, 1, 1, 1], 3, 3), 3, 3, snap=0)
    assert not np.array_equal(raw, [1, 1, 1, 1])  # float32(1/3) * 3 != 1: snap=0 keeps the raw product
    np.testing.assert_allclose(raw, [1, 1, 1, 1], atol=1e-6)


@pytest.mark.parametrize("shape", [(3,), (5,), (2, 3), (2, 4, 1), (1, 2, 4), ()])
def test_tfds_bbox_bad_shapes(shape: Tuple[int, ...]) -> None:
    boxes = np.ones(shape)
    with pytest.raises(ValueError, match="shape"):
        sa1b.tfds_bbox(boxes, 10, 10)
    with pytest.raises(ValueError, match="shape"):
        sa1b.xywh_from_tfds(boxes, 10, 10)


@pytest.mark.parametrize("height, width, error", [(0, 10, ValueError), (10, -1, ValueError),
                                                   (10.0, 10, TypeError), (10, True, TypeError)])
def test_tfds_bbox_bad_dimensions(height: Any, width: Any, error: type) -> None:
    with pytest.raises(error):
        sa1b.tfds_bbox([0, 0, 1, 1], height, width)
    with pytest.raises(error):
        sa1b.xywh_from_tfds([0, 0, 1, 1], height, width)


@st.composite
def integer_boxes(draw: Any) -> Tuple[np.ndarray, int, int]:
    height = draw(st.integers(1, 16384))
    width = draw(st.integers(1, 16384))
    n = draw(st.integers(1, 6))
    boxes = []
    for _ in range(n):
        x = draw(st.integers(0, width))
        y = draw(st.integers(0, height))
        boxes.append([x, y, draw(st.integers(0, width - x)), draw(st.integers(0, height - y))])
    return np.array(boxes, dtype=np.float64), height, width


@given(integer_boxes())
def test_tfds_integer_boxes_round_trip_exactly(case: Tuple[np.ndarray, int, int]) -> None:
    boxes, height, width = case
    tf = sa1b.tfds_bbox(boxes, height, width)
    x, y, w, h = boxes.T
    expected = np.stack([y / height, x / width, (y + h) / height, (x + w) / width], 1).astype(np.float32)
    np.testing.assert_array_equal(tf, expected)
    np.testing.assert_array_equal(sa1b.xywh_from_tfds(tf, height, width), boxes)
    for box, normalised in zip(boxes, tf):
        np.testing.assert_array_equal(sa1b.tfds_bbox(box, height, width), normalised)
        np.testing.assert_array_equal(sa1b.xywh_from_tfds(normalised, height, width), box)


# --------------------------------------------------------------------------- shards


@pytest.fixture
def shard_members(dicts: List[Dict[str, Any]]) -> List[Tuple[str, bytes]]:
    return members_for(dicts)


@pytest.fixture
def shard(tmp_path: Path, shard_members: List[Tuple[str, bytes]]) -> Path:
    return write_tar(tmp_path / "sa_000000.tar", shard_members)


def expected_samples(members: Sequence[Tuple[str, bytes]], images: bool = True) -> Dict[str, Tuple[Any, Any]]:
    files = dict(members)
    out = {}
    for name, data in members:
        if name.endswith(".json"):
            key = os.path.basename(name)[: -len(".json")]
            jpeg = files[name[: -len(".json")] + ".jpg"] if images else None
            out[key] = (json.loads(data), jpeg)
    return out


def check_samples(samples: Sequence[sa1b.Sample], members: Sequence[Tuple[str, bytes]],
                  images: bool = True, shard_name: Optional[str] = None) -> None:
    expected = expected_samples(members, images)
    assert sorted(s.key for s in samples) == sorted(expected)
    for sample in samples:
        data, jpeg = expected[sample.key]
        assert isinstance(sample.record, sa1b.ImageRecord)
        assert sample.record.to_json() == data
        assert sample.jpeg == jpeg
        if shard_name is not None:
            assert sample.shard == shard_name
            assert shard_name in sample.record.source


def test_iter_shard_every_source_agrees(tmp_path: Path, shard: Path,
                                        shard_members: List[Tuple[str, bytes]]) -> None:
    data = shard.read_bytes()
    by_path = list(sa1b.iter_shard(shard))
    by_str = list(sa1b.iter_shard(str(shard)))
    with open(shard, "rb") as handle:
        by_file = list(sa1b.iter_shard(handle))
    pipe = NonSeekable(data)
    by_stream = list(sa1b.iter_shard(pipe))
    assert pipe.reads > 0
    gz = write_tar(tmp_path / "sa_000000.tar.gz", shard_members, gz=True)
    by_gz = list(sa1b.iter_shard(gz))
    by_gz_stream = list(sa1b.iter_shard(NonSeekable(gz.read_bytes())))
    by_dir = list(sa1b.iter_shard(write_dir(tmp_path / "extracted", shard_members)))
    check_samples(by_path, shard_members, shard_name=str(shard))
    expected = summary(by_path)
    assert [s.key for s in by_path] == ["sa_1", "sa_2", "sa_3"]
    for how, samples in [("str", by_str), ("file", by_file), ("stream", by_stream), ("gz", by_gz),
                         ("gz stream", by_gz_stream), ("dir", by_dir)]:
        assert summary(samples) == expected, how
    assert by_stream[0].shard == "pipe:shard"
    assert by_gz[0].shard == str(gz)
    assert by_dir[0].shard == str(tmp_path / "extracted")
    assert by_path[0].record.source == f"{shard}: sa_1.json"


@pytest.mark.parametrize("how", ["path", "stream", "dir"])
def test_iter_shard_images_false(tmp_path: Path, shard: Path, shard_members: List[Tuple[str, bytes]],
                                 how: str) -> None:
    src: Any = {"path": shard, "stream": NonSeekable(shard.read_bytes()),
                "dir": write_dir(tmp_path / "d", shard_members) if how == "dir" else None}[how]
    reader = sa1b.iter_shard(src, images=False)
    samples = list(reader)
    check_samples(samples, shard_members, images=False)
    assert all(s.jpeg is None for s in samples) and reader.samples == 3
    with pytest.raises(ValueError, match="images=False"):
        samples[0].image()


def test_sample_image_decodes_the_jpeg(shard: Path) -> None:
    from PIL import Image

    for sample in sa1b.iter_shard(shard):
        picture = sample.image()
        assert picture.dtype == np.uint8 and picture.shape == (sample.record.height, sample.record.width, 3)
        expected = np.asarray(Image.open(io.BytesIO(sample.jpeg)).convert("RGB"))
        np.testing.assert_array_equal(picture, expected)


SHUFFLED = {
    # json first, its jpg last: the pairs are far apart and interleaved
    "json first, jpg last": ["sa_1.json", "sa_2.jpg", "sa_3.json", "sa_2.json", "sa_3.jpg", "sa_1.jpg"],
    "all json, then all jpg": ["sa_3.json", "sa_1.json", "sa_2.json", "sa_2.jpg", "sa_1.jpg", "sa_3.jpg"],
    "random 0": 0,
    "random 1": 1,
}


@pytest.mark.parametrize("order", list(SHUFFLED))
@pytest.mark.parametrize("how", ["path", "stream", "dir"])
def test_shuffled_members_pair_up(tmp_path: Path, dicts: List[Dict[str, Any]], order: str, how: str) -> None:
    members = members_for(dicts)
    names = SHUFFLED[order]
    if isinstance(names, int):
        random.Random(names).shuffle(members)
    else:
        files = dict(members)
        members = [(name, files[name]) for name in names]
    path = write_tar(tmp_path / "s.tar", members)
    src: Any = {"path": path, "stream": NonSeekable(path.read_bytes()),
                "dir": write_dir(tmp_path / "d", members) if how == "dir" else None}[how]
    reader = sa1b.iter_shard(src)
    samples = list(reader)
    check_samples(samples, members)
    assert len(samples) == 3 and reader.samples == 3
    assert reader.skipped == [] and reader.ignored == []


def test_members_in_a_folder(tmp_path: Path, dicts: List[Dict[str, Any]]) -> None:
    members = members_for(dicts, prefix="./")
    members_dir = members_for(dicts, prefix="sa_000020/")
    for name, ms in (("dot.tar", members), ("nested.tar", members_dir)):
        path = write_tar(tmp_path / name, ms)
        for src in (path, NonSeekable(path.read_bytes())):
            samples = list(sa1b.iter_shard(src))
            assert [s.key for s in samples] == ["sa_1", "sa_2", "sa_3"]
            check_samples(samples, ms)


@pytest.mark.parametrize("how", ["path", "stream", "dir"])
def test_unknown_members_are_ignored(tmp_path: Path, dicts: List[Dict[str, Any]], how: str) -> None:
    members = members_for(dicts)
    members.insert(0, ("README.txt", b"hello"))
    members.insert(3, ("sa_1.png", b"\x89PNG"))
    members.append(("notes.jsonl", b"{}"))
    path = write_tar(tmp_path / "s.tar", members)
    src: Any = {"path": path, "stream": NonSeekable(path.read_bytes()),
                "dir": write_dir(tmp_path / "d", members) if how == "dir" else None}[how]
    reader = sa1b.iter_shard(src)
    samples = list(reader)
    check_samples(samples, [m for m in members if m[0].endswith((".json", ".jpg"))])
    assert sorted(reader.ignored) == ["README.txt", "notes.jsonl", "sa_1.png"]
    assert reader.skipped == []


@pytest.mark.parametrize("how", ["path", "stream", "dir"])
@pytest.mark.parametrize("drop, member, problem", [("sa_2.jpg", "sa_2.json", "JSON without its JPEG"),
                                                   ("sa_2.json", "sa_2.jpg", "JPEG without its JSON")])
def test_unpaired_member(tmp_path: Path, dicts: List[Dict[str, Any]], how: str, drop: str, member: str,
                         problem: str) -> None:
    members = [m for m in members_for(dicts) if m[0] != drop]
    path = write_tar(tmp_path / "s.tar", members)

    if how == "dir":
        write_dir(tmp_path / "d", members)

    def source() -> Any:
        if how == "path":
            return path
        if how == "stream":
            return NonSeekable(path.read_bytes(), name="pipe:s")
        return tmp_path / "d"

    name = {"path": str(path), "stream": "pipe:s", "dir": str(tmp_path / "d")}[how]
    with pytest.raises(ValueError) as info:
        list(sa1b.iter_shard(source()))
    message = str(info.value)
    assert message.startswith(name) and member in message and problem in message
    reader = sa1b.iter_shard(source(), on_error="skip")
    with pytest.warns(sa1b.SkippedSamplesWarning, match=member):
        samples = list(reader)
    assert [s.key for s in samples] == ["sa_1", "sa_3"]
    check_samples(samples, [m for m in members if not m[0].startswith("sa_2")])
    assert len(reader.skipped) == 1
    skipped = reader.skipped[0]
    assert skipped.shard == name and skipped.member == member and problem in skipped.error
    assert reader.samples == 2


@pytest.mark.parametrize("how", ["path", "stream", "dir"])
def test_corrupt_json_member(tmp_path: Path, dicts: List[Dict[str, Any]], how: str) -> None:
    members = members_for(dicts)
    index = [n for n, _ in members].index("sa_2.json")
    good = members[index][1]
    members[index] = ("sa_2.json", good[:40] + b"\n  ]" + good[40:])
    path = write_tar(tmp_path / "s.tar", members)
    src: Any = {"path": path, "stream": NonSeekable(path.read_bytes(), name="pipe:s"),
                "dir": write_dir(tmp_path / "d", members) if how == "dir" else None}[how]
    name = {"path": str(path), "stream": "pipe:s", "dir": str(tmp_path / "d")}[how]
    reader = sa1b.iter_shard(src)
    first = next(reader)
    assert first.key == "sa_1"
    with pytest.raises(ValueError) as info:
        next(reader)
    message = str(info.value)
    assert message.startswith(f"{name}: sa_2.json: ")
    assert "line 2 column 3" in message


def test_iter_shard_checks_each_record(tmp_path: Path, dicts: List[Dict[str, Any]]) -> None:
    ident = dicts[1]["annotations"][2]["id"]
    dicts[1]["annotations"][2]["area"] = "12"
    path = write_tar(tmp_path / "s.tar", members_for(dicts))
    where = rf"^{re.escape(str(path))}: sa_2\.json: annotation 2 \(id {ident}\): 'area'"
    reader = sa1b.iter_shard(path)
    assert next(reader).key == "sa_1"
    with pytest.raises(ValueError, match=where):
        next(reader)
    samples = list(sa1b.iter_shard(path, check=False))
    assert [s.key for s in samples] == ["sa_1", "sa_2", "sa_3"]
    with pytest.raises(ValueError, match=where):
        samples[1].record.areas
    reader = sa1b.iter_shard(path, on_error="skip")
    with pytest.warns(sa1b.SkippedSamplesWarning, match="sa_2.json"):
        assert [s.key for s in reader] == ["sa_1", "sa_3"]


def test_corrupt_json_member_skipped(tmp_path: Path, dicts: List[Dict[str, Any]]) -> None:
    members = members_for(dicts)
    members[3] = ("sa_2.json", b"not json at all")
    dicts[2]["annotations"][1]["segmentation"]["size"] = [1, 1]  # wrong size in sa_3
    members[5] = ("sa_3.json", json_bytes(dicts[2]))
    path = write_tar(tmp_path / "s.tar", members)
    reader = sa1b.iter_shard(path, on_error="skip")
    with pytest.warns(sa1b.SkippedSamplesWarning, match=r"skipped 2 sample"):
        samples = list(reader)
    assert [s.key for s in samples] == ["sa_1"]
    assert [s.member for s in reader.skipped] == ["sa_2.json", "sa_3.json"]
    assert "not valid JSON" in reader.skipped[0].error
    assert "annotation 1" in reader.skipped[1].error and str(path) in reader.skipped[1].error


def _member_offsets(path: Path) -> Dict[str, Tuple[int, int]]:
    with tarfile.open(path) as tar:
        return {info.name: (info.offset, info.offset_data) for info in tar}


def _cut_points(path: Path) -> Dict[str, int]:
    offsets = _member_offsets(path)
    with tarfile.open(path) as tar:
        sizes = {info.name: info.size for info in tar}
    json2 = offsets["sa_2.json"]
    jpg3 = offsets["sa_3.jpg"]
    return {
        "inside the first header": 100,
        "after the first header": offsets["sa_1.jpg"][1],
        "inside sa_2.json data": json2[1] + sizes["sa_2.json"] // 2,
        "after the sa_2.json header": json2[1],
        "inside the sa_3.jpg header": jpg3[0] + 200,
        "inside sa_3.jpg data": jpg3[1] + sizes["sa_3.jpg"] // 3,
        "between sa_2.jpg and sa_2.json": json2[0],
        "between two samples": jpg3[0],
        "just before the end": offsets["sa_3.json"][1] + sizes["sa_3.json"] - 1,
    }


# complete samples before each cut
_KEPT = {
    "inside the first header": [],
    "after the first header": [],
    "inside sa_2.json data": ["sa_1"],
    "after the sa_2.json header": ["sa_1"],
    "inside the sa_3.jpg header": ["sa_1", "sa_2"],
    "inside sa_3.jpg data": ["sa_1", "sa_2"],
    "between sa_2.jpg and sa_2.json": ["sa_1"],
    "between two samples": ["sa_1", "sa_2"],
    "just before the end": ["sa_1", "sa_2"],
}


@pytest.mark.parametrize("images", [True, False])
@pytest.mark.parametrize("how", ["path", "stream", "gz"])
@pytest.mark.parametrize("cut", list(_KEPT))
def test_truncated_tar(tmp_path: Path, shard: Path, shard_members: List[Tuple[str, bytes]], cut: str,
                       how: str, images: bool) -> None:
    # The same samples with images=False, where JPEGs are not kept: a sample whose
    # JPEG is cut short is lost either way (found by fuzzing: fixed-images-flag-*).
    data = shard.read_bytes()
    point = _cut_points(shard)[cut]
    if how == "gz":
        # the same cut, inside a gzip stream: cut the compressed bytes at the same fraction
        compressed = gzip.compress(data)
        truncated = compressed[: max(10, point * len(compressed) // len(data))]
    else:
        truncated = data[:point]
    path = tmp_path / ("cut.tar.gz" if how == "gz" else "cut.tar")
    path.write_bytes(truncated)

    def source() -> Any:
        return NonSeekable(truncated, name="pipe:cut") if how == "stream" else path

    name = "pipe:cut" if how == "stream" else str(path)
    reader = sa1b.iter_shard(source(), images=images)
    with pytest.raises(ValueError) as info:
        for _ in reader:
            pass
    assert str(info.value).startswith(name), str(info.value)
    reader = sa1b.iter_shard(source(), on_error="skip", images=images)
    with pytest.warns(sa1b.SkippedSamplesWarning):
        samples = list(reader)
    keys = [s.key for s in samples]
    if how != "gz":  # gzip's block structure decides what survives; only check for a prefix there
        assert keys == _KEPT[cut]
    else:
        with pytest.warns(sa1b.SkippedSamplesWarning):
            other = [s.key for s in sa1b.iter_shard(source(), on_error="skip", images=not images)]
        assert keys == other
    assert keys == ["sa_1", "sa_2", "sa_3"][: len(keys)]
    if images:
        check_samples(samples, [m for m in shard_members if m[0].split(".")[0] in keys])
    else:
        assert all(s.jpeg is None for s in samples)
    assert reader.skipped and all(s.shard == name for s in reader.skipped)


@pytest.mark.parametrize("how", ["path", "stream", "gz-path", "gz-stream"])
def test_jpeg_cut_short_after_its_json_is_lost_with_or_without_images(
        tmp_path: Path, shard_members: List[Tuple[str, bytes]], how: str) -> None:
    # JSON first, then a JPEG whose data the file ends inside: images=False must not
    # yield the sample that images=True loses (found by fuzzing: fixed-images-flag-*).
    members = []
    for i in range(0, len(shard_members), 2):   # swap to sa_N.json, sa_N.jpg
        members += [shard_members[i + 1], shard_members[i]]
    path = write_tar(tmp_path / "json-first.tar", members)
    data = path.read_bytes()
    offsets = _member_offsets(path)
    last_jpg = members[-1][0]
    cut = data[: offsets[last_jpg][1] + len(members[-1][1]) // 2]
    if how.startswith("gz"):
        cut = gzip.compress(cut)
    target = tmp_path / ("cut.tar.gz" if how.startswith("gz") else "cut.tar")
    target.write_bytes(cut)
    keys = {}
    for images in (True, False):
        source: Any = target if how.endswith("path") else NonSeekable(cut, name="pipe:cut")
        reader = sa1b.iter_shard(source, on_error="skip", images=images)
        with pytest.warns(sa1b.SkippedSamplesWarning):
            keys[images] = [s.key for s in reader]
        assert reader.skipped
    assert keys[True] == keys[False] == [m[0][:-5] for m in members[:-2:2]]


def test_truncation_message_names_what_was_lost(tmp_path: Path, shard: Path) -> None:
    point = _cut_points(shard)["inside sa_3.jpg data"]
    path = tmp_path / "cut.tar"
    path.write_bytes(shard.read_bytes()[:point])
    reader = sa1b.iter_shard(path, on_error="skip")
    with pytest.warns(sa1b.SkippedSamplesWarning):
        assert [s.key for s in reader] == ["sa_1", "sa_2"]
    text = " ".join(s.error for s in reader.skipped)
    assert "sa_3" in text


@pytest.mark.parametrize("content", [b"", b"\x00" * 100, b"this is not a tar file" * 40,
                                     b"\x1f\x8b\x08\x00garbage"])
def test_not_a_tar(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.tar"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=str(path)):
        list(sa1b.iter_shard(path))
    with pytest.raises(ValueError, match="pipe:bad"):
        list(sa1b.iter_shard(NonSeekable(content, name="pipe:bad")))


# A gzip header with every optional field (FEXTRA, FNAME, FCOMMENT, FHCRC), cut at
# each byte: the stdlib's stream reader fails inside those fields with TypeError
# (``ord(b"")``), which the reader must report like any other damaged shard (found
# by fuzzing: fuzz/crashes/sa1b/fixed-gzip-header-cut-typeerror-*).
_FULL_GZIP_HEADER = b"\x1f\x8b\x08\x1e" + b"\x00" * 6 + b"\x02\x00ab" + b"name\x00" + b"note\x00" + b"\x00\x00"


@pytest.mark.parametrize("cut", range(3, len(_FULL_GZIP_HEADER) + 1))
def test_gzip_header_cut_short(tmp_path: Path, cut: int) -> None:
    content = _FULL_GZIP_HEADER[:cut]
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=str(path)):
        list(sa1b.iter_shard(path))
    with pytest.raises(ValueError, match="pipe:cut"):
        list(sa1b.iter_shard(NonSeekable(content, name="pipe:cut")))
    reader = sa1b.iter_shard(NonSeekable(content, name="pipe:cut"), on_error="skip")
    with pytest.warns(sa1b.SkippedSamplesWarning):
        assert list(reader) == []
    assert len(reader.skipped) == 1


def test_missing_shard(tmp_path: Path) -> None:
    missing = tmp_path / "nope.tar"
    with pytest.raises(ValueError, match=str(missing)):
        list(sa1b.iter_shard(missing))
    reader = sa1b.iter_shard(missing, on_error="skip")
    with pytest.warns(sa1b.SkippedSamplesWarning):
        assert list(reader) == []
    assert len(reader.skipped) == 1 and reader.skipped[0].shard == str(missing)
    with pytest.raises(ValueError, match="on_error"):
        sa1b.iter_shard(missing, on_error="ignore")
    with pytest.raises(TypeError):
        sa1b.iter_shard(3)  # type: ignore[arg-type]


def test_empty_tar_and_empty_directory(tmp_path: Path) -> None:
    empty = write_tar(tmp_path / "empty.tar", [])
    assert list(sa1b.iter_shard(empty)) == []
    (tmp_path / "d").mkdir()
    assert list(sa1b.iter_shard(tmp_path / "d")) == []


def test_reader_is_one_pass_and_counts(shard: Path) -> None:
    reader = sa1b.iter_shard(shard)
    assert iter(reader) is reader
    assert len(list(reader)) == 3 and reader.samples == 3
    assert list(reader) == []
    assert reader.skipped == [] and reader.ignored == []


@pytest.mark.parametrize("how", ["path", "stream"])
def test_iterating_does_not_hold_earlier_samples(tmp_path: Path, corpus: Any, how: str) -> None:
    datas = [corpus.make_image(100 + i, shape=(24, 32), n_masks=3, image_id=i + 1) for i in range(12)]
    members = members_for(datas)
    path = write_tar(tmp_path / "many.tar", members)
    src: Any = path if how == "path" else NonSeekable(path.read_bytes())
    refs: List[weakref.ref] = []
    alive_before: List[int] = []
    for sample in sa1b.iter_shard(src):
        gc.collect()
        alive_before.append(sum(r() is not None for r in refs))
        refs.append(weakref.ref(sample.record))
    assert len(refs) == 12
    assert max(alive_before) == 0, alive_before


def test_sample_shard_bundled() -> None:
    path = sa1b.sample_path()
    assert os.path.isfile(path), path
    reader = sa1b.iter_shard(path)
    samples = list(reader)
    assert [s.key for s in samples] == ["sa_1", "sa_2", "sa_3", "sa_4"]
    assert reader.skipped == []
    for sample in samples:
        record = sample.record
        assert record.file_name == f"{sample.key}.jpg" and len(record) > 0
        assert sample.image().shape == (record.height, record.width, 3)
        np.testing.assert_array_equal(record.mask_areas(), record.areas)
        expected = record.mask_bboxes()
        expected[:, 2:] = np.maximum(expected[:, 2:] - 1, 0)
        np.testing.assert_array_equal(record.bboxes, expected)


# --------------------------------------------------------------------------- torch


def _key_and_worker(sample: sa1b.Sample) -> Tuple[str, int, str]:
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    return sample.key, -1 if info is None else info.id, sample.shard


def _key_only(sample: sa1b.Sample) -> str:
    return sample.key


@pytest.fixture
def torch_shards(tmp_path: Path, corpus: Any) -> List[str]:
    paths = []
    for s in range(4):
        datas = [corpus.make_image(200 + 3 * s + i, shape=(30, 40), n_masks=3, image_id=3 * s + i + 1)
                 for i in range(3)]
        paths.append(str(write_tar(tmp_path / f"sa_{s:06d}.tar", members_for(datas))))
    return paths


def test_torch_shards_dataloader(torch_shards: List[str]) -> None:
    pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    dataset = sa1b.TorchShards(torch_shards, transform=_key_and_worker, images=False)
    seen = list(DataLoader(dataset, batch_size=None, num_workers=2))
    keys = [k for k, _, _ in seen]
    assert sorted(keys) == sorted(f"sa_{i}" for i in range(1, 13))
    assert len(keys) == len(set(keys)) == 12
    by_worker: Dict[int, set] = {}
    for _, worker, shard in seen:
        by_worker.setdefault(worker, set()).add(shard)
    assert by_worker == {0: set(torch_shards[0::2]), 1: set(torch_shards[1::2])}


def test_torch_shards_samples_without_transform(torch_shards: List[str]) -> None:
    pytest.importorskip("torch")
    from torch.utils.data import DataLoader

    dataset = sa1b.TorchShards(torch_shards[:2])
    samples = list(DataLoader(dataset, batch_size=None, num_workers=0))
    assert [s.key for s in samples] == [f"sa_{i}" for i in range(1, 7)]
    assert all(isinstance(s, sa1b.Sample) and s.jpeg is not None for s in samples)
    one = sa1b.TorchShards(torch_shards[0])
    assert one.shards == [torch_shards[0]] and len(list(one)) == 3


def test_torch_shards_assigned(monkeypatch: pytest.MonkeyPatch, torch_shards: List[str]) -> None:
    torch = pytest.importorskip("torch")
    dataset = sa1b.TorchShards(torch_shards)
    assert dataset.assigned_shards() == torch_shards
    assert isinstance(dataset, torch.utils.data.IterableDataset)
    split = []
    for worker in range(3):
        info = types.SimpleNamespace(id=worker, num_workers=3)
        monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda info=info: info)
        split.append(dataset.assigned_shards())
    assert split == [[torch_shards[0], torch_shards[3]], [torch_shards[1]], [torch_shards[2]]]
    with pytest.raises(ValueError):
        sa1b.TorchShards(torch_shards, on_error="never")


def test_torch_shards_pickle(torch_shards: List[str]) -> None:
    pytest.importorskip("torch")
    dataset = sa1b.TorchShards(torch_shards, transform=_key_only, images=False, on_error="skip")
    clone = pickle.loads(pickle.dumps(dataset))
    assert type(clone) is sa1b.TorchShards
    assert clone.shards == torch_shards and clone.images is False and clone.on_error == "skip"
    assert clone.transform is _key_only
    assert list(clone) == [f"sa_{i}" for i in range(1, 13)] == list(dataset)
    assert sa1b.TorchShards.__module__ == "sarle.sa1b"


def test_module_getattr() -> None:
    with pytest.raises(AttributeError):
        sa1b.NoSuchThing  # noqa: B018
    assert set(sa1b.__all__) <= set(dir(sa1b))
