"""sarle against frozen pycocotools output (``tests/data/golden.json``).

The fixtures were made by ``tests/data/make_golden.py`` with pycocotools (the
version is recorded in every entry) and cross-checked there against a plain
numpy computation; cases where pycocotools is known to be wrong are not in the
file. These tests need neither pycocotools nor the generator: they pin the
format, so a change in sarle's strings, areas, boxes, IoUs or merges shows up
even where pycocotools is not installed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import sarle

GOLDEN_PATH = Path(__file__).parent / "data" / "golden.json"
GOLDEN = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
MASKS = GOLDEN["masks"]
DENSE = [m for m in MASKS if m["dense"]]
SPARSE = [m for m in MASKS if not m["dense"]]
ALPHABET = {chr(c) for c in range(48, 112)}


def _rle(entry: dict, kind: str = "str") -> dict:
    counts = entry["counts"]
    if kind == "bytes":
        counts = counts.encode("ascii")
    return {"size": list(entry["size"]), "counts": counts}


def _runs(mask: np.ndarray) -> list[int]:
    """Canonical column-major runs (background first) of a dense mask."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return [0]
    edges = np.concatenate(([0], np.flatnonzero(flat[1:] != flat[:-1]) + 1, [flat.size]))
    runs = np.diff(edges).tolist()
    return [0, *runs] if flat[0] else runs


def _bbox(mask: np.ndarray) -> list[float]:
    """pycocotools toBbox of a dense mask, [x, y, w, h]."""
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs.min()), float(ys.min()),
            float(xs.max() - xs.min() + 1), float(ys.max() - ys.min() + 1)]


_decoded: dict[str, np.ndarray] = {}


def decoded(entry: dict) -> np.ndarray:
    """sarle's decoding of a dense entry (cached: the big ones are decoded once)."""
    name = entry["name"]
    if name not in _decoded:
        _decoded[name] = sarle.decode(_rle(entry))
    return _decoded[name]


def canonical_runs(entry: dict) -> list[int]:
    return entry["runs"] if not entry["dense"] else _runs(decoded(entry))


def ids(entries: list[dict]) -> list[str]:
    return [e["name"] for e in entries]


# ---------------------------------------------------------------------------------------------
# The file itself.


def test_golden_file_is_well_formed():
    assert GOLDEN["format"] == 1
    assert GOLDEN_PATH.stat().st_size < 1_000_000
    assert len(MASKS) >= 300 and len(GOLDEN["iou"]) >= 10 and len(GOLDEN["merge"]) >= 20
    for section in ("masks", "iou", "merge"):
        for entry in GOLDEN[section]:
            assert entry["pycocotools"] == GOLDEN["pycocotools"], entry["name"]
    assert len(set(ids(MASKS))) == len(MASKS)
    for m in MASKS:
        assert set(m["counts"]) <= ALPHABET, m["name"]
        h, w = m["size"]
        assert 0 <= m["area"] <= h * w
    # what the fixtures are meant to cover
    sizes = {tuple(m["size"]) for m in MASKS}
    assert {(0, 0), (0, 5), (5, 0), (1, 1), (1, 100), (100, 1), (1500, 2250)} <= sizes
    assert any(m["counts"].startswith("0") and m["area"] for m in MASKS)  # first run 0
    assert any("\\" in m["counts"] for m in MASKS)  # a JSON-escaped backslash


# ---------------------------------------------------------------------------------------------
# One mask at a time.


@pytest.mark.parametrize("entry", DENSE, ids=ids(DENSE))
def test_decode(entry):
    h, w = entry["size"]
    m = decoded(entry)
    assert m.shape == (h, w) and m.dtype == np.bool_ and m.flags.c_contiguous
    assert int(np.count_nonzero(m)) == entry["area"]
    assert _bbox(m) == entry["bbox"]
    np.testing.assert_array_equal(sarle.decode(_rle(entry, "bytes")), m)
    f = sarle.decode(_rle(entry), order="F")
    assert f.shape == (h, w) and f.dtype == np.bool_ and f.flags.f_contiguous
    np.testing.assert_array_equal(f, m)


@pytest.mark.parametrize("entry", DENSE, ids=ids(DENSE))
def test_encode_gives_the_pycocotools_string(entry):
    h, w = entry["size"]
    m = decoded(entry)
    want = {"size": [h, w], "counts": entry["counts"]}
    assert sarle.encode(m) == want
    assert sarle.encode(np.asfortranarray(m)) == want
    assert sarle.encode(m.astype(np.uint8) * 7) == want  # non-zero is foreground
    assert type(sarle.encode(m)["counts"]) is str


@pytest.mark.parametrize("entry", DENSE, ids=ids(DENSE))
def test_decode_into_out(entry):
    h, w = entry["size"]
    for dtype in (np.bool_, np.uint8):
        for order in ("C", "F"):
            out = np.empty((h, w), dtype=dtype, order=order)
            out.view(np.uint8)[...] = 0xA5  # garbage: every byte must be written
            got = sarle.decode(_rle(entry), out=out)
            assert got is out
            np.testing.assert_array_equal(out.view(np.uint8), decoded(entry).view(np.uint8))


@pytest.mark.parametrize("entry", MASKS, ids=ids(MASKS))
def test_area_and_bbox(entry):
    for kind in ("str", "bytes"):
        a = sarle.area(_rle(entry, kind))
        assert a == entry["area"] and isinstance(a, int)
        b = sarle.bbox(_rle(entry, kind))
        assert b.dtype == np.float64 and b.shape == (4,)
        assert b.tolist() == entry["bbox"]


@pytest.mark.parametrize("entry", MASKS, ids=ids(MASKS))
def test_decompress_and_compress(entry):
    h, w = entry["size"]
    runs = canonical_runs(entry)
    for kind in ("str", "bytes"):
        d = sarle.decompress(_rle(entry, kind))
        assert list(d["size"]) == [h, w]
        got = [int(r) for r in d["counts"]]
        if h * w == 0:
            assert got in ([], [0])
        else:
            assert got == runs
        assert sarle.compress(_rle(entry, kind)) == {"size": [h, w], "counts": entry["counts"]}
    for counts in (runs, np.asarray(runs, dtype=np.int64), np.asarray(runs, dtype=np.uint64)):
        c = sarle.compress({"size": [h, w], "counts": counts})
        assert c == {"size": [h, w], "counts": entry["counts"]}
    # size as TFDS stores it
    c = sarle.compress({"size": np.array([h, w], dtype=np.uint64), "counts": runs})
    assert c == {"size": [h, w], "counts": entry["counts"]}


@pytest.mark.parametrize("entry", SPARSE, ids=ids(SPARSE))
def test_sparse_entry_runs_match_area_and_bbox(entry):
    """Masks too big to decode: the stored runs, area and box agree (no dense mask)."""
    runs = entry["runs"]
    h, w = entry["size"]
    assert sum(runs) == h * w and sum(runs[1::2]) == entry["area"]
    assert sarle.area({"size": [h, w], "counts": runs}) == entry["area"]
    assert sarle.bbox({"size": [h, w], "counts": runs}).tolist() == entry["bbox"]


# ---------------------------------------------------------------------------------------------
# Batches.


def _groups(min_n: int = 2, max_pixels: int = 1 << 22) -> list[list[dict]]:
    by_size = defaultdict(list)
    for m in DENSE:
        by_size[tuple(m["size"])].append(m)
    return [g for s, g in sorted(by_size.items()) if len(g) >= min_n and s[0] * s[1] <= max_pixels]


GROUPS = _groups()


@pytest.mark.parametrize("group", GROUPS, ids=[f"{g[0]['size'][0]}x{g[0]['size'][1]}" for g in GROUPS])
def test_batch_decode_list_and_tfds(group):
    h, w = group[0]["size"]
    n = len(group)
    want = np.stack([decoded(e) for e in group])
    got = sarle.decode([_rle(e) for e in group])
    assert got.shape == (n, h, w) and got.dtype == np.bool_ and got.flags.c_contiguous
    np.testing.assert_array_equal(got, want)

    tfds = {"counts": np.array([e["counts"].encode() for e in group], dtype=object),
            "size": np.array([e["size"] for e in group], dtype=np.uint64)}
    np.testing.assert_array_equal(sarle.decode(tfds), want)
    f = sarle.decode(tfds, order="F")
    assert f.shape == (n, h, w) and f.strides == (h * w, 1, h)
    assert f.transpose(1, 2, 0).flags.f_contiguous
    np.testing.assert_array_equal(f, want)
    np.testing.assert_array_equal(sarle.decode([_rle(e, "bytes") for e in group], order="F"), want)

    a = sarle.area(tfds)
    assert a.dtype == np.uint64 and a.tolist() == [e["area"] for e in group]
    b = sarle.bbox(tfds)
    assert b.dtype == np.float64 and b.shape == (n, 4)
    assert b.tolist() == [e["bbox"] for e in group]

    out = np.full((n, h, w), 0xA5, dtype=np.uint8)
    assert sarle.decode(tfds, out=out) is out
    np.testing.assert_array_equal(out, want.view(np.uint8))

    enc = sarle.encode(want)
    assert enc == [{"size": [h, w], "counts": e["counts"]} for e in group]


def test_batch_area_and_bbox_of_every_mask():
    """One call over all ~500 masks of mixed sizes (pycocotools' area fails at 256)."""
    rles = [_rle(e) for e in MASKS]
    a = sarle.area(rles)
    assert a.dtype == np.uint64 and a.shape == (len(MASKS),)
    assert a.tolist() == [e["area"] for e in MASKS]
    b = sarle.bbox([_rle(e, "bytes") for e in MASKS])
    assert b.dtype == np.float64 and b.shape == (len(MASKS), 4)
    assert b.tolist() == [e["bbox"] for e in MASKS]


# ---------------------------------------------------------------------------------------------
# IoU and merge.

IOUS = GOLDEN["iou"]
MERGES = GOLDEN["merge"]


@pytest.mark.parametrize("entry", IOUS, ids=ids(IOUS))
def test_iou(entry):
    dt = [_rle(MASKS[i]) for i in entry["dt"]]
    gt = [_rle(MASKS[i], "bytes") for i in entry["gt"]]
    want = np.array(entry["iou"], dtype=np.float64)
    # i / u with exact integers is one correctly rounded division: equality is exact
    got = sarle.iou(dt, gt, iscrowd=entry["iscrowd"])
    assert got.dtype == np.float64 and got.shape == (len(dt), len(gt))
    np.testing.assert_array_equal(got, want)
    if entry["iscrowd"] is not None:
        crowd = np.array(entry["iscrowd"], dtype=bool)
        np.testing.assert_array_equal(sarle.iou(dt, gt, iscrowd=crowd), want)
    else:
        # plain IoU is symmetric
        np.testing.assert_array_equal(sarle.iou(gt, dt), want.T)


@pytest.mark.parametrize("entry", MERGES, ids=ids(MERGES))
def test_merge(entry):
    rles = [_rle(MASKS[i]) for i in entry["rles"]]
    want = {"size": entry["size"], "counts": entry["counts"]}
    got = sarle.merge(rles, intersect=entry["intersect"])
    assert got == want
    assert sarle.area(got) == entry["area"]
    assert sarle.merge([_rle(MASKS[i], "bytes") for i in entry["rles"]],
                       intersect=entry["intersect"]) == want
    # the merged string is canonical: re-encoding its decoding gives it back
    assert sarle.encode(sarle.decode(got)) == want
