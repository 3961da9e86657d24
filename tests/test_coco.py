"""``sarle.coco`` is a drop-in for ``pycocotools.mask``.

For every function: the same results, types, dtypes, shapes and memory
flags as pycocotools 2.0.11 on the inputs pycocotools handles correctly;
then, one by one, the documented differences (inputs where pycocotools
crashes, returns garbage or refuses valid data).  Last, COCOeval run end to
end with ``sarle.coco`` patched in gives the very same scores.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import reference as ref
import strategies as S

sarle = pytest.importorskip("sarle")
pm = pytest.importorskip("pycocotools.mask")
pm_c = pytest.importorskip("pycocotools._mask")

from common import coco_decode  # noqa: E402
from sarle import coco as mask_util  # noqa: E402

# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def assert_same(ours, theirs, where: str = "result") -> None:
    """Same Python/numpy types, dtypes, shapes, contiguity and values."""
    assert type(ours) is type(theirs), f"{where}: {type(ours)} != {type(theirs)}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), where
        assert ours["size"] == theirs["size"], where
        assert [type(v) for v in ours["size"]] == [type(v) for v in theirs["size"]], where
        assert ours["counts"] == theirs["counts"], where
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(theirs, np.ndarray):
        assert ours.dtype == theirs.dtype, f"{where}: {ours.dtype} != {theirs.dtype}"
        assert ours.shape == theirs.shape, f"{where}: {ours.shape} != {theirs.shape}"
        for flag in ("C_CONTIGUOUS", "F_CONTIGUOUS"):
            assert ours.flags[flag] == theirs.flags[flag], f"{where}: {flag}"
        np.testing.assert_array_equal(ours, theirs, err_msg=where)
    elif isinstance(theirs, np.generic):
        assert ours.dtype == theirs.dtype, where
        assert ours == theirs, where
    else:
        assert ours == theirs, where


def fortran_u8(mask) -> np.ndarray:
    return np.asfortranarray(np.asarray(mask) != 0, dtype=np.uint8)


def coco_rle(runs, h, w) -> dict:
    """pycocotools' RLE (bytes) of canonical runs."""
    return {"size": [h, w], "counts": ref.string_from_runs(runs).encode()}


@st.composite
def rle_groups(draw, min_size=1, max_size=4, max_side=24):
    """(h, w, [bytes RLE, ...]) of one size."""
    h, w, group = draw(S.groups(min_size, max_size, max_side))
    return h, w, [coco_rle(runs, h, w) for runs in group]


mask_sizes = st.tuples(st.integers(0, 20), st.integers(0, 20))


@st.composite
def mask_stack(draw, min_n=0, max_n=3):
    """(h, w, n) uint8 Fortran stack of structured masks of one size."""
    h, w = draw(mask_sizes)
    n = draw(st.integers(min_n, max_n))
    kinds = draw(st.lists(st.sampled_from(S.KINDS), min_size=n, max_size=n))
    seed = draw(st.integers(0, 2**32 - 1))
    masks = [S.structured_mask(k, h, w, seed + i) for i, k in enumerate(kinds)]
    stack = np.zeros((h, w, n), dtype=np.uint8, order="F")
    for i, m in enumerate(masks):
        stack[:, :, i] = m
    return stack


# --------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------


@given(S.structured_masks(24))
@example(np.zeros((0, 5), bool))
@example(np.ones((1, 1), bool))
def test_encode_2d(mask):
    f = fortran_u8(mask)
    assert_same(mask_util.encode(f), pm.encode(f))


@given(mask_stack())
def test_encode_3d(stack):
    assert_same(mask_util.encode(stack), pm.encode(stack))


@given(S.structured_masks(24))
def test_encode_lenient_layouts_and_dtypes(mask):
    """pycocotools wants Fortran uint8 (C order raises); any layout works here."""
    want = pm.encode(fortran_u8(mask))
    for variant in (mask, mask.astype(np.uint8), np.ascontiguousarray(mask, np.int32),
                    np.asfortranarray(mask), mask.T.copy().T, np.where(mask, 255, 0).astype(np.uint8)):
        assert_same(mask_util.encode(variant), want)
    stack = np.stack([mask, ~mask], axis=2)          # C-ordered (h, w, 2) bool
    assert_same(mask_util.encode(stack), pm.encode(fortran_u8(stack)))


def test_encode_c_order_3d_is_refused_by_pycocotools():
    stack = np.zeros((3, 4, 2), dtype=np.uint8)
    with pytest.raises(ValueError, match="Fortran"):
        pm.encode(stack)
    assert mask_util.encode(stack) == pm.encode(np.asfortranarray(stack))


def test_encode_non_binary_values():
    """pycocotools starts a run at every value change: {0, 1, 2} is mis-encoded."""
    mask = np.asfortranarray(np.array([[1, 2], [0, 1]], dtype=np.uint8))
    ours = mask_util.encode(mask)
    assert ours == pm.encode(fortran_u8(mask))          # non-zero is foreground
    assert pm.encode(mask)["counts"] != ours["counts"]  # pycocotools' wrong string
    np.testing.assert_array_equal(mask_util.decode(ours), mask != 0)


@pytest.mark.parametrize("bad, error", [
    (np.zeros(5, np.uint8), ValueError),          # pycocotools returns None
    (np.zeros((2, 2, 2, 2), np.uint8), ValueError),
    (np.zeros((2, 2), np.float32), TypeError),
])
def test_encode_rejects(bad, error):
    with pytest.raises(error):
        mask_util.encode(bad)


# --------------------------------------------------------------------------
# decode
# --------------------------------------------------------------------------


@given(rle_groups(min_size=1, max_size=3))
def test_decode(case):
    h, w, rles = case
    assert_same(mask_util.decode(rles[0]), coco_decode(rles[0]))
    assert_same(mask_util.decode(rles), coco_decode(rles))
    as_str = [{"size": r["size"], "counts": r["counts"].decode()} for r in rles]
    assert_same(mask_util.decode(as_str), coco_decode(as_str))
    assert_same(mask_util.decode(as_str[0]), coco_decode(as_str[0]))


@given(rle_groups(min_size=1, max_size=3))
def test_decode_lenient_forms(case):
    """Tuples, uncompressed counts, numpy sizes and TFDS batch dicts (pycocotools: errors)."""
    h, w, rles = case
    want = coco_decode(rles)
    assert_same(mask_util.decode(tuple(rles)), want)
    uncompressed = [sarle.decompress(r) for r in rles]
    assert_same(mask_util.decode(uncompressed), want)
    with_np_size = [{"size": np.array([h, w], np.uint64), "counts": r["counts"]} for r in rles]
    assert_same(mask_util.decode(with_np_size), want)
    tfds = {"counts": np.array([r["counts"] for r in rles], dtype=object),
            "size": np.array([[h, w]] * len(rles), dtype=np.uint64)}
    assert_same(mask_util.decode(tfds), want)
    float_size = {"size": [float(h), float(w)], "counts": rles[0]["counts"]}
    assert_same(mask_util.decode(float_size), coco_decode(rles[0]))


def test_decode_empty_list():
    """pycocotools raises a ValueError about a garbage shape."""
    out = mask_util.decode([])
    assert out.shape == (0, 0, 0) and out.dtype == np.uint8


@pytest.mark.parametrize("rle", [
    {"size": [3, 4], "counts": [5, 2]},              # sum 7 < 12: pycocotools: garbage
    {"size": [3, 4], "counts": [5, 2, 9]},           # sum 16 > 12
    {"size": [3, 4], "counts": b""},
    {"size": [3, 4], "counts": b"2120001p"},         # outside the alphabet
    {"size": [3, 4], "counts": b"2120001`"},         # truncated group
])
def test_decode_rejects_malformed(rle):
    with pytest.raises(ValueError):
        mask_util.decode(rle)
    with pytest.raises(ValueError):
        mask_util.decode([rle])


def test_decode_rejects_mixed_sizes():
    a = mask_util.encode(np.zeros((3, 4), np.uint8))
    b = mask_util.encode(np.zeros((4, 3), np.uint8))
    with pytest.raises(ValueError):
        mask_util.decode([a, b])


# --------------------------------------------------------------------------
# area, toBbox
# --------------------------------------------------------------------------


@given(rle_groups(min_size=1, max_size=5))
def test_area_and_tobbox(case):
    _, _, rles = case
    assert_same(mask_util.area(rles[0]), pm.area(rles[0]))
    assert_same(mask_util.area(rles), pm.area(rles))
    assert_same(mask_util.toBbox(rles[0]), pm.toBbox(rles[0]))
    assert_same(mask_util.toBbox(rles), pm.toBbox(rles))


def test_area_and_tobbox_empty_list():
    assert_same(mask_util.area([]), pm.area([]))
    assert_same(mask_util.toBbox([]), pm.toBbox([]))


def test_area_of_many_rles():
    """pycocotools raises OverflowError from 256 RLEs on under numpy 2."""
    rles = [mask_util.encode(np.asfortranarray(np.eye(5, k=i % 5, dtype=np.uint8)))
            for i in range(300)]
    areas = mask_util.area(rles)
    assert areas.dtype == np.uint32 and areas.shape == (300,)
    assert areas.tolist() == [5, 4, 3, 2, 1] * 60
    if int(np.__version__.split(".")[0]) >= 2:
        with pytest.raises(OverflowError):
            pm.area(rles)


def test_area_beyond_uint32_is_exact():
    """h*w >= 2**32: pycocotools wraps; here the area is promoted to uint64."""
    h = w = 70000
    rle = {"size": [h, w], "counts": ref.string_from_runs([0, h * w])}
    assert mask_util.area(rle) == h * w
    assert mask_util.area(rle).dtype == np.uint64
    assert mask_util.area([rle]).dtype == np.uint64
    small = mask_util.encode(np.ones((2, 2), np.uint8))
    assert mask_util.area([small]).dtype == np.uint32
    np.testing.assert_array_equal(mask_util.toBbox(rle), [0, 0, w, h])


# --------------------------------------------------------------------------
# merge
# --------------------------------------------------------------------------


@given(rle_groups(min_size=1, max_size=4), st.sampled_from([0, 1, True, False]))
def test_merge(case, intersect):
    _, _, rles = case
    assert_same(mask_util.merge(rles, intersect), pm.merge(rles, intersect))
    assert_same(mask_util.merge(rles, intersect=intersect), pm.merge(rles, intersect=intersect))


def test_merge_default_is_union():
    a = mask_util.encode(np.asfortranarray(np.eye(3, dtype=np.uint8)))
    b = mask_util.encode(np.asfortranarray(np.fliplr(np.eye(3, dtype=np.uint8))))
    assert mask_util.merge([a, b]) == pm.merge([a, b])


def test_merge_empty_and_mismatched():
    """pycocotools returns {'size': [0, 0], 'counts': b''} for both."""
    a = mask_util.encode(np.ones((3, 4), np.uint8))
    b = mask_util.encode(np.ones((4, 3), np.uint8))
    assert pm.merge([a, b]) == {"size": [0, 0], "counts": b""}
    with pytest.raises(ValueError):
        mask_util.merge([a, b])
    with pytest.raises(ValueError):
        mask_util.merge([])


def test_merge_empty_string():
    """pycocotools segfaults here (not called)."""
    with pytest.raises(ValueError):
        mask_util.merge([{"size": [3, 4], "counts": b""}, {"size": [3, 4], "counts": b""}])


# --------------------------------------------------------------------------
# iou
# --------------------------------------------------------------------------


@given(rle_groups(min_size=2, max_size=7), st.data())
def test_iou_rles(case, data):
    _, _, rles = case
    m = data.draw(st.integers(1, len(rles) - 1))
    dt, gt = rles[:m], rles[m:]
    crowd = data.draw(st.lists(st.sampled_from([0, 1, True, False]), min_size=len(gt),
                               max_size=len(gt)))
    assert_same(mask_util.iou(dt, gt, crowd), pm.iou(dt, gt, crowd))
    assert_same(mask_util.iou(dt, gt, pyiscrowd=crowd), pm.iou(dt, gt, pyiscrowd=crowd))
    assert_same(mask_util.iou(dt, gt, np.array(crowd, dtype=np.uint8)), pm.iou(dt, gt, crowd))


box_value = st.one_of(
    st.integers(-5, 30).map(float),
    st.integers(-10, 60).map(lambda v: v / 2),
    st.floats(-10, 40, allow_nan=False),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, np.inf, -np.inf, np.nan]),
)
boxes = st.lists(st.lists(box_value, min_size=4, max_size=4), min_size=1, max_size=5)


@given(boxes, boxes, st.data())
@example([[0.0, 0.0, 2.0, 2.0]], [[1.0, 1.0, 2.0, 2.0]], None)
def test_iou_boxes(dt, gt, data):
    """pycocotools' bbIou float semantics exactly, NaN and inf included."""
    if data is None:
        crowd = [0] * len(gt)
    else:
        crowd = data.draw(st.lists(st.sampled_from([0, 1]), min_size=len(gt), max_size=len(gt)))
    want = pm.iou(np.array(dt), np.array(gt), crowd)
    assert_same(mask_util.iou(np.array(dt), np.array(gt), crowd), want)
    # A list of 4-lists or of arrays, as COCOeval passes them.
    assert_same(mask_util.iou(dt, gt, crowd), pm.iou(dt, gt, crowd))
    assert_same(mask_util.iou([np.array(b) for b in dt], gt, crowd), want)


def test_iou_integer_boxes():
    dt = np.array([[0, 0, 4, 4], [2, 2, 3, 3]])
    gt = np.array([[1, 1, 4, 4]])
    assert_same(mask_util.iou(dt, gt, [1]), pm.iou(dt, gt, [1]))


@pytest.mark.parametrize("dt, gt, crowd", [
    ([], [], []),
    ([], [[0, 0, 1, 1]], [0]),
    ([[0, 0, 1, 1]], [], []),
    (np.zeros((0, 4)), np.zeros((0, 4)), []),
])
def test_iou_empty_is_list(dt, gt, crowd):
    assert mask_util.iou(dt, gt, crowd) == [] == pm.iou(dt, gt, crowd)
    assert type(mask_util.iou(dt, gt, crowd)) is list


def test_iou_empty_rle_side():
    rle = mask_util.encode(np.ones((3, 3), np.uint8))
    assert mask_util.iou([rle], [], []) == [] == pm.iou([rle], [], [])
    assert mask_util.iou([], [rle], [0]) == [] == pm.iou([], [rle], [0])


def test_iou_size_mismatch():
    """pycocotools gives -1 when the boxes overlap; sarle raises."""
    a = mask_util.encode(np.ones((3, 4), np.uint8))
    b = mask_util.encode(np.ones((4, 3), np.uint8))
    assert pm.iou([a], [b], [0])[0, 0] == -1
    with pytest.raises(ValueError):
        mask_util.iou([a], [b], [0])


def test_iou_argument_errors():
    rle = mask_util.encode(np.ones((3, 3), np.uint8))
    with pytest.raises(ValueError):          # pycocotools: AssertionError
        mask_util.iou([rle], [rle, rle], [0])
    with pytest.raises(TypeError):           # boxes against RLEs
        mask_util.iou([rle], [[0, 0, 1, 1]], [0])
    with pytest.raises(TypeError):
        mask_util.iou("abc", [rle], [0])
    with pytest.raises(ValueError):
        mask_util.iou(np.zeros((2, 3)), np.zeros((2, 4)), [0, 0])


def test_iou_lenient_forms():
    """iscrowd may be omitted; a single RLE dict is a list of one (both errors in pycocotools)."""
    a = np.zeros((4, 4), np.uint8, order="F")
    a[:2] = 1
    b = np.asfortranarray(np.roll(a, 1, axis=0))
    ra, rb = mask_util.encode(a), mask_util.encode(b)
    want = pm.iou([ra], [ra, rb], [0, 0])
    assert_same(mask_util.iou([ra], [ra, rb]), want)
    assert_same(mask_util.iou(ra, [ra, rb]), want)
    assert_same(mask_util.iou(ra, [ra, rb], None), want)
    assert_same(mask_util.iou([0, 0, 2, 2], [[1, 1, 2, 2]], [0]),
                pm.iou([[0, 0, 2, 2]], [[1, 1, 2, 2]], [0]))


# --------------------------------------------------------------------------
# frPyObjects, frUncompressedRLE, frBbox, frPoly
# --------------------------------------------------------------------------

POLY = [1.0, 1.0, 6.5, 1.2, 5.0, 7.5, 0.5, 5.0]
POLY2 = [2.0, 2.0, 3.0, 2.0, 3.0, 3.0]
BOXES = [[1.0, 1.0, 3.0, 2.5], [0.5, 0.0, 2.0, 8.0]]


def test_frpyobjects_polygons():
    assert_same(mask_util.frPyObjects([POLY, POLY2], 9, 8), pm.frPyObjects([POLY, POLY2], 9, 8))
    # Later items are polygons whatever their length, as in pycocotools.
    mixed = [POLY, [1.0, 1.0, 4.0, 4.0], [2.0, 2.0]]
    assert_same(mask_util.frPyObjects(mixed, 9, 8), pm.frPyObjects(mixed, 9, 8))
    # numpy sizes, as COCO image records may hold.
    assert_same(mask_util.frPyObjects([POLY], np.int64(9), np.uint64(8)),
                pm.frPyObjects([POLY], 9, 8))


def test_frpyobjects_box_array():
    assert_same(mask_util.frPyObjects(np.array(BOXES), 9, 8), pm.frPyObjects(np.array(BOXES), 9, 8))
    assert mask_util.frPyObjects(np.zeros((0, 4)), 9, 8) == []


def test_frpyobjects_box_lists_work():
    """pycocotools: TypeError for a list of boxes, ValueError for an int array."""
    want = pm.frPyObjects(np.array(BOXES), 9, 8)
    with pytest.raises(TypeError):
        pm.frPyObjects(BOXES, 9, 8)
    assert_same(mask_util.frPyObjects(BOXES, 9, 8), want)
    assert_same(mask_util.frPyObjects([np.array(b) for b in BOXES], 9, 8), want)
    ints = np.array([[1, 1, 3, 2]])
    assert_same(mask_util.frPyObjects(ints, 9, 8), pm.frPyObjects(ints.astype(float), 9, 8))


def test_frpyobjects_single_objects_work():
    """One flat box or polygon: TypeError in pycocotools, one dict here."""
    with pytest.raises(TypeError):
        pm.frPyObjects(POLY, 9, 8)
    assert_same(mask_util.frPyObjects(POLY, 9, 8), pm.frPyObjects([POLY], 9, 8)[0])
    assert_same(mask_util.frPyObjects(BOXES[0], 9, 8),
                pm.frPyObjects(np.array(BOXES[:1]), 9, 8)[0])
    assert_same(mask_util.frPyObjects(np.array(BOXES[0]), 9, 8),
                pm.frPyObjects(np.array(BOXES[:1]), 9, 8)[0])


def test_frpyobjects_four_numbers_is_a_box():
    """A 4-number 'polygon' first in the list is read as a box, as in pycocotools."""
    objs = [[1.0, 1.0, 4.0, 4.0]]
    assert_same(mask_util.frPyObjects(objs, 9, 8), pm_c.frBbox(np.array(objs), 9, 8))


@given(S.sized_runs(max_side=20))
def test_frpyobjects_uncompressed(case):
    h, w, runs = case
    rle = {"size": [h, w], "counts": runs}
    assert_same(mask_util.frPyObjects([rle], 99, 99), pm.frPyObjects([rle], 99, 99))
    assert_same(mask_util.frPyObjects(rle, 99, 99), pm.frPyObjects(rle, 99, 99))
    assert_same(mask_util.frUncompressedRLE([rle], h, w), pm_c.frUncompressedRLE([rle], h, w))


def test_frpyobjects_rle_dict_with_four_keys():
    """A COCO annotation-like dict of 4 keys was dispatched to frBbox by pycocotools."""
    rle = {"size": [3, 4], "counts": [6, 3, 3], "area": 3, "iscrowd": 1}
    with pytest.raises(TypeError):
        pm.frPyObjects([rle], 3, 4)
    assert_same(mask_util.frPyObjects([rle], 3, 4),
                pm.frPyObjects([{"size": [3, 4], "counts": [6, 3, 3]}], 3, 4))


@given(S.non_canonical(S.sized_runs(max_side=12)))
def test_fruncompressedrle_is_canonical(case):
    """pycocotools copies zero-length runs into the string; sarle drops them."""
    h, w, runs, canonical = case
    ours = mask_util.frUncompressedRLE([{"size": [h, w], "counts": runs}])
    assert_same(ours, pm_c.frUncompressedRLE([{"size": [h, w], "counts": canonical}], h, w))
    theirs = pm_c.frUncompressedRLE([{"size": [h, w], "counts": runs}], h, w)
    np.testing.assert_array_equal(mask_util.decode(ours), coco_decode(theirs))


def test_fruncompressedrle_example():
    rle = {"size": [4, 5], "counts": [0, 5, 0, 5, 10]}
    ours = mask_util.frPyObjects(rle, 4, 5)
    theirs = pm.frPyObjects(rle, 4, 5)
    assert ours["counts"] != theirs["counts"]
    assert ours == pm.frPyObjects({"size": [4, 5], "counts": [0, 10, 10]}, 4, 5)
    np.testing.assert_array_equal(mask_util.decode(ours), coco_decode(theirs))


@pytest.mark.parametrize("rle", [
    {"size": [3, 4], "counts": [5, 2]},        # short sum
    {"size": [3, 4], "counts": [5, 2, 9]},     # long sum
    {"size": [3, 4], "counts": [5, -2, 9]},    # negative
    {"size": [-3, 4], "counts": []},
    {"size": [3], "counts": [12]},
])
def test_fruncompressedrle_rejects(rle):
    with pytest.raises(ValueError, match="RLE 0"):
        mask_util.frUncompressedRLE([rle], 3, 4)
    with pytest.raises(ValueError):
        mask_util.frPyObjects(rle, 3, 4)


@pytest.mark.parametrize("pyobj, error", [
    ([[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 1.0]], ValueError),   # odd: pycocotools truncates
    ([0.0, 0.0, 4.0], ValueError),                         # 3 numbers
    ([[0.0, 0.0]], ValueError),                            # first item too short
    ([[0.0, 0.0, 1.0, np.nan, 2.0, 2.0]], ValueError),
    ([{"counts": [1]}], ValueError),                        # missing size
    ({"counts": [1]}, ValueError),
    ("abc", TypeError),
    (3, TypeError),
    ([None], TypeError),
    (np.zeros((2, 3)), ValueError),
])
def test_frpyobjects_rejects(pyobj, error):
    with pytest.raises(error):
        mask_util.frPyObjects(pyobj, 9, 9)


def test_frpyobjects_odd_polygon_pycocotools_truncates():
    odd = [[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 1.0]]
    assert pm.frPyObjects(odd, 6, 6) == pm.frPyObjects([odd[0][:-1]], 6, 6)
    with pytest.raises(ValueError, match="odd"):
        mask_util.frPyObjects(odd, 6, 6)


def test_frpyobjects_empty_list():
    """pycocotools: IndexError."""
    assert mask_util.frPyObjects([], 5, 5) == []


def test_frbbox_and_frpoly_forms():
    assert_same(mask_util.frBbox(np.array(BOXES), 9, 8), pm_c.frBbox(np.array(BOXES), 9, 8))
    assert_same(mask_util.frBbox(BOXES, 9, 8), pm_c.frBbox(np.array(BOXES), 9, 8))
    assert_same(mask_util.frBbox(BOXES[0], 9, 8), pm_c.frBbox(np.array(BOXES[:1]), 9, 8))
    assert mask_util.frBbox(np.zeros((0, 4)), 9, 8) == []
    assert_same(mask_util.frPoly([POLY, POLY2], 9, 8), pm_c.frPoly([POLY, POLY2], 9, 8))
    as_k2 = [np.array(POLY).reshape(-1, 2)]     # pycocotools misreads (k, 2) arrays
    assert_same(mask_util.frPoly(as_k2, 9, 8), pm_c.frPoly([POLY], 9, 8))
    assert_same(mask_util.frPyObjects(as_k2, 9, 8), pm_c.frPoly([POLY], 9, 8))


@pytest.mark.parametrize("h, w, error", [(-1, 5, ValueError), (2.5, 5, ValueError),
                                         ("9", 5, TypeError), (None, 5, TypeError)])
def test_image_size_errors(h, w, error):
    with pytest.raises(error):
        mask_util.frPoly([POLY], h, w)
    with pytest.raises(error):
        mask_util.frBbox(BOXES, h, w)


# --------------------------------------------------------------------------
# COCOeval end to end
# --------------------------------------------------------------------------


def _coco_dataset(seed: int):
    """A small COCO-style ground truth and detections (polygons, crowd RLE, boxes)."""
    rng = np.random.default_rng(seed)
    images, gts, dts = [], [], []
    aid = 1
    for image_id in range(1, 5):
        h, w = int(rng.integers(30, 60)), int(rng.integers(30, 60))
        images.append({"id": image_id, "height": h, "width": w})
        for _ in range(int(rng.integers(1, 5))):
            cx, cy = rng.uniform(5, w - 5), rng.uniform(5, h - 5)
            k = int(rng.integers(3, 9))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            r = rng.uniform(2, 15, k)
            poly = np.stack([cx + r * np.cos(ang), cy + r * np.sin(ang)], 1).ravel()
            poly = np.round(poly, 1).tolist()
            rle = pm.merge(pm.frPyObjects([poly], h, w))
            gts.append({"id": aid, "image_id": image_id, "category_id": int(rng.integers(1, 3)),
                        "segmentation": [poly], "area": float(pm.area(rle)),
                        "bbox": pm.toBbox(rle).tolist(), "iscrowd": 0})
            aid += 1
            mask = coco_decode(rle)
            shifted = np.asfortranarray(np.roll(mask, int(rng.integers(-2, 3)), axis=1))
            seg = pm.encode(shifted)
            seg["counts"] = seg["counts"].decode()
            dts.append({"image_id": image_id, "category_id": gts[-1]["category_id"],
                        "segmentation": seg, "score": float(rng.uniform()),
                        "bbox": (np.array(gts[-1]["bbox"]) + rng.normal(0, 1, 4)).tolist()})
        crowd = np.zeros((h, w), np.uint8)
        crowd[: h // 3, : w // 3] = 1
        runs = ref.runs_from_mask(crowd)
        gts.append({"id": aid, "image_id": image_id, "category_id": 1,
                    "segmentation": {"size": [h, w], "counts": runs},
                    "area": float(crowd.sum()), "bbox": [0, 0, w // 3, h // 3], "iscrowd": 1})
        aid += 1
    categories = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    return {"images": images, "annotations": gts, "categories": categories}, dts


def _evaluate(mask_module, monkeypatch, iou_type: str, seed: int):
    import copy

    from pycocotools import coco as coco_module
    from pycocotools import cocoeval as cocoeval_module

    monkeypatch.setattr(coco_module, "maskUtils", mask_module)
    monkeypatch.setattr(cocoeval_module, "maskUtils", mask_module)
    dataset, dts = _coco_dataset(seed)
    if iou_type == "bbox":
        dts = [{k: v for k, v in d.items() if k != "segmentation"} for d in dts]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = coco_module.COCO()
        gt.dataset = copy.deepcopy(dataset)
        gt.createIndex()
        dt = gt.loadRes(copy.deepcopy(dts))
        ev = cocoeval_module.COCOeval(gt, dt, iou_type)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


@pytest.mark.parametrize("iou_type", ["segm", "bbox"])
@pytest.mark.parametrize("seed", [0, 1])
def test_cocoeval_scores_are_identical(monkeypatch, iou_type, seed):
    import warnings

    with warnings.catch_warnings():
        # pycocotools' decode under numpy 2 (the oracle run only).
        warnings.simplefilter("ignore", DeprecationWarning)
        want = _evaluate(pm, monkeypatch, iou_type, seed)
    got = _evaluate(mask_util, monkeypatch, iou_type, seed)
    np.testing.assert_array_equal(got.stats, want.stats)
    assert want.stats.max() > 0   # the data set is not trivial
    assert got.ious.keys() == want.ious.keys()
    for key, value in want.ious.items():
        if isinstance(value, list):
            assert got.ious[key] == value
        else:
            assert_same(got.ious[key], value, f"ious{key}")
