"""Core correctness: every sarle function against two oracles.

* pycocotools, live, bit for bit, where it is right (``coco`` fixture:
  those tests are skipped when pycocotools is not installed);
* ``tests/reference.py``, a tiny exact pure-Python codec, where pycocotools
  is wrong (see NOTES.md): non-binary encode input, zero-length interior runs,
  deltas >= 2**29, h*w >= 2**32, ``area`` of 256+ RLEs on numpy 2.

The first section tests the reference codec itself (no sarle, no
pycocotools), so that it can be trusted as an oracle.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import reference as ref
import strategies as S
from common import check_roundtrip, coco_decode, expected_string

sarle = pytest.importorskip("sarle")


@pytest.fixture(scope="module")
def coco():
    """pycocotools.mask, or skip."""
    return pytest.importorskip("pycocotools.mask")


def coco_rle(coco, runs, h, w):
    """pycocotools' compressed RLE of canonical ``runs`` (h*w < 2**31, runs < 2**23)."""
    return coco.frPyObjects([{"size": [h, w], "counts": [int(r) for r in runs]}], h, w)[0]


def rle(runs, h, w):
    return {"size": [h, w], "counts": ref.string_from_runs(runs)}


# Largest values for which pycocotools is exact and safe on run-level inputs
# (no dense masks needed):
# * runs (hence deltas) below 2**23, so that every count fits in 5 characters:
#   its rleToString allocates 6 characters per count and then writes the
#   terminating NUL after them, one byte past the buffer when every count
#   needs 6 (|x| >= 2**24): heap corruption, a later abort.  (Its parser is
#   wrong from 2**29 on: int shifts.)
# * totals below 2**31 (uint sums of two runs in iou/merge).  A misparsed
#   string (sums that differ) sends its rleIou into an endless loop.
COCO_MAX_VALUE = 2**23 - 1
COCO_MAX_TOTAL = 2**31 - 1


# ==========================================================================
# 1. The reference codec itself (runs without sarle and pycocotools)
# ==========================================================================


@pytest.mark.parametrize(
    "runs, string",
    [
        ([0], "0"),
        ([12], "<"),
        ([0, 12], "0<"),
        ([1, 2, 3, 1], "123O"),  # index 3: delta 1 - 2 = -1 -> 0x1f
        ([15], "?"),
        ([16], "`0"),  # 16 needs a second group (bit 0x10 would read as sign)
        ([1, 1, 1, 17], "111`0"),  # delta 16: group 0x10 | 0x20 ("`"), then 0 ("0")
        ([3, 20, 3, 4], "3d03@"),  # delta 4 - 20 = -16: one group 0x10
        ([3, 21, 3, 4], "3e03_O"),  # delta -17: two groups
    ],
)
def test_reference_known_strings(runs, string):
    # Hand-worked values (see the format notes in NOTES.md).
    assert ref.string_from_runs(runs) == string
    assert ref.runs_from_string(string) == runs
    assert ref.runs_from_string(string.encode()) == runs


@given(S.big_runs())
def test_reference_string_roundtrip(t):
    h, w, runs = t
    assert sum(runs) == h * w
    assert ref.canonical(runs) == runs
    s = ref.string_from_runs(runs)
    assert set(s) <= {chr(c) for c in range(48, 112)}
    assert ref.runs_from_string(s) == runs


@given(S.sized_runs(48))
def test_reference_mask_roundtrip(t):
    h, w, runs = t
    m = ref.mask_from_runs(runs, h, w)
    assert m.shape == (h, w)
    assert ref.runs_from_mask(m) == runs
    assert ref.area(runs) == int(m.sum())
    assert ref.bbox(runs, h, w) == ref.bbox_from_mask(m)
    # Column-major: the first run fills the first column top down.
    flat = m.ravel(order="F")
    assert not flat[: runs[0]].any()


@given(S.non_canonical(S.sized_runs(24)))
def test_reference_non_canonical(t):
    h, w, nc, canon = t
    assert ref.canonical(nc) == canon
    np.testing.assert_array_equal(ref.mask_from_runs(nc, h, w), ref.mask_from_runs(canon, h, w))
    assert ref.runs_from_string(ref.string_from_runs(nc)) == nc
    assert ref.bbox(nc, h, w) == ref.bbox(canon, h, w)


@given(S.groups(1, 4, 24), st.booleans())
def test_reference_merge_iou_vs_numpy(g, intersect):
    h, w, group = g
    ms = [ref.mask_from_runs(r, h, w) for r in group]
    want = np.logical_and.reduce(ms) if intersect else np.logical_or.reduce(ms)
    assert ref.merge(group, intersect) == ref.runs_from_mask(want)
    crowd = [i % 2 for i in range(len(group))]
    got = ref.iou(group, group, crowd)
    for i, a in enumerate(ms):
        for j, b in enumerate(ms):
            inter = int((a & b).sum())
            union = int(a.sum()) if crowd[j] else int((a | b).sum())
            assert got[i, j] == (inter / union if inter else 0.0)


@pytest.mark.parametrize("bad", ["1p", "1 ", "a`", b"\x80", "`", "0o", "@", "12:@"])
def test_reference_rejects_malformed(bad):
    # "1p", "1 ": outside the alphabet; "a`", "`", "0o": end inside a group;
    # "@": -16, a negative run; "12:@": 10 - 16 at index 3, negative too.
    with pytest.raises(ValueError):
        ref.runs_from_string(bad)


# ==========================================================================
# 2. Round trips of dense masks (pycocotools if installed, else reference)
# ==========================================================================


@given(S.masks(64))
def test_roundtrip_runs(m):
    check_roundtrip(m)


@given(S.structured_masks(64))
def test_roundtrip_structured(m):
    check_roundtrip(m)


@pytest.mark.parametrize("shape", [(0, 0), (0, 1), (1, 0), (0, 7), (9, 0), (1, 1), (1, 33), (33, 1),
                                   (16, 16), (17, 31), (512, 1), (1, 513)])
@pytest.mark.parametrize("kind", ["empty", "full", "frame", "checkerboard", "noise", "lines"])
def test_roundtrip_edge_shapes(shape, kind):
    check_roundtrip(S.structured_mask(kind, *shape, seed=sum(shape)))


def test_roundtrip_single_pixels():
    # Every single-pixel mask of a small odd shape: first/last run positions.
    for y in range(5):
        for x in range(3):
            m = np.zeros((5, 3), bool)
            m[y, x] = True
            check_roundtrip(m)
            check_roundtrip(~m)


@pytest.mark.parametrize("seed", [0, 1])
def test_roundtrip_sa1b_size(seed, coco):
    m = S.sa1b_like_mask(seed)
    rle = check_roundtrip(m)
    f = np.asfortranarray(m.astype(np.uint8))
    want = coco.encode(f)
    assert rle["counts"] == want["counts"].decode()
    assert sarle.area(rle) == int(coco.area(want))
    np.testing.assert_array_equal(sarle.bbox(rle), coco.toBbox(want))
    np.testing.assert_array_equal(sarle.decode(rle, order="F"), coco_decode(want).astype(bool))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 12))
def test_roundtrip_sa1b_size_many(seed):
    check_roundtrip(S.sa1b_like_mask(seed), thorough=False)


@pytest.mark.slow
@given(S.masks(400, max_runs=400))
def test_roundtrip_large_masks(m):
    check_roundtrip(m)


@given(S.masks(32), st.sampled_from([np.uint8, np.int16, np.int32, np.int64, np.uint64]),
       st.integers(0, 2**32))
def test_encode_non_binary(m, dtype, seed):
    # pycocotools starts a new run at every value change, so a {0, 1, 2} mask
    # gets a wrong (longer) string there.  sarle: non-zero = foreground; the
    # oracle is pycocotools on the binarised mask (expected_string does that).
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    values = rng.integers(info.min, info.max, size=m.shape, dtype=dtype, endpoint=True)
    values[values == 0] = 1
    a = np.where(m, values, dtype(0))
    assert ((a != 0) == m).all()
    got = sarle.encode(a)
    assert got == {"size": list(m.shape), "counts": expected_string(m)}
    assert got["counts"] == ref.string_from_runs(ref.runs_from_mask(m))


def test_encode_non_binary_example():
    a = np.array([[0, 1, 2], [2, 0, 1], [0, 0, 2]], dtype=np.uint8)
    assert sarle.encode(a) == sarle.encode(a != 0) == {"size": [3, 3], "counts": "111012"}


def test_numpy_string_counts():
    # Counts taken out of numpy string arrays are np.str_ / np.bytes_
    # (subclasses of str / bytes); a batch's counts may be a "U" or "S" array.
    m = S.structured_mask("holes", 21, 17, seed=3)
    r = sarle.encode(m)
    h, w = m.shape
    for counts in (np.str_(r["counts"]), np.bytes_(r["counts"].encode()),
                   np.array([r["counts"]])[0], np.array([r["counts"].encode()])[0]):
        one = {"size": [h, w], "counts": counts}
        np.testing.assert_array_equal(sarle.decode(one), m, err_msg=type(counts).__name__)
        assert sarle.area(one) == int(m.sum())
        assert sarle.compress(one) == r
    strings = [r["counts"], sarle.encode(~m)["counts"]]
    for counts in (np.array(strings), np.array([s.encode() for s in strings])):
        batch = {"counts": counts, "size": np.array([[h, w]] * 2, dtype=np.uint64)}
        np.testing.assert_array_equal(sarle.decode(batch), np.stack([m, ~m]), err_msg=str(counts.dtype))
        np.testing.assert_array_equal(sarle.area(batch), [m.sum(), (~m).sum()])


def test_encode_empty_batch_and_decode_empty_list():
    assert sarle.encode(np.zeros((0, 4, 5), bool)) == []
    got = sarle.decode([])
    assert got.shape == (0, 0, 0) and got.dtype == np.bool_


def test_decode_batch_matches_pycocotools(coco):
    ms = [S.structured_mask(k, 23, 41, seed=i) for i, k in enumerate(S.KINDS)]
    want = coco.encode(np.asfortranarray(np.stack(ms, axis=2).astype(np.uint8)))
    got = sarle.decode(want, order="F")  # a list of dicts with bytes counts
    np.testing.assert_array_equal(got.transpose(1, 2, 0), coco_decode(want))
    np.testing.assert_array_equal(sarle.decode(want), np.stack(ms))
    assert [g["counts"] for g in sarle.encode(np.stack(ms))] == [w["counts"].decode() for w in want]


# ==========================================================================
# 3. Run-level functions vs pycocotools (inside its exact range)
# ==========================================================================

coco_runs = S.big_runs(max_value=COCO_MAX_VALUE, max_total=COCO_MAX_TOTAL, max_runs=24)
coco_groups = S.big_groups(1, 4, max_value=COCO_MAX_VALUE, max_total=COCO_MAX_TOTAL, max_runs=16)


@given(coco_runs)
def test_runs_vs_pycocotools(coco, t):
    h, w, runs = t
    want = coco_rle(coco, runs, h, w)
    counts = want["counts"].decode()
    forms = (runs, np.array(runs, dtype=np.uint64), counts, want["counts"])
    sizes = ([h, w], (h, w), np.array([h, w], dtype=np.uint64))
    for form, size in zip(forms * 3, sizes * 4):
        r = {"size": size, "counts": form}
        assert sarle.compress(r) == {"size": [h, w], "counts": counts}
        assert sarle.decompress(r) == {"size": [h, w], "counts": runs}
        a = sarle.area(r)
        assert type(a) is int and a == int(coco.area(want))
        np.testing.assert_array_equal(sarle.bbox(r), coco.toBbox(want))


@given(coco_groups, st.data())
def test_iou_vs_pycocotools(coco, g, data):
    h, w, group = g
    rles = [coco_rle(coco, r, h, w) for r in group]
    split = data.draw(st.integers(0, len(rles)))
    dt, gt = rles[:split] or rles, rles[split:] or rles
    crowd = data.draw(st.lists(st.booleans(), min_size=len(gt), max_size=len(gt)))
    want = coco.iou(dt, gt, [int(c) for c in crowd])
    for iscrowd in (crowd, [int(c) for c in crowd], np.array(crowd), tuple(crowd)):
        got = sarle.iou(dt, gt, iscrowd)
        assert got.dtype == np.float64 and got.shape == (len(dt), len(gt))
        np.testing.assert_array_equal(got, want)
    if not any(crowd):
        np.testing.assert_array_equal(sarle.iou(dt, gt), want)
        np.testing.assert_array_equal(sarle.iou(dt, gt, None), want)


@given(S.big_groups(1, 5, max_value=2**20, max_total=2**22, max_runs=24), st.booleans())
def test_merge_vs_pycocotools(coco, g, intersect):
    # pycocotools' merge allocates h*w + 1 counts: keep h*w small here.
    h, w, group = g
    rles = [coco_rle(coco, r, h, w) for r in group]
    want = coco.merge(rles, intersect=intersect)
    got = sarle.merge(rles, intersect=intersect)
    assert got == {"size": [h, w], "counts": want["counts"].decode()}
    # Same result from str counts and from uncompressed lists.
    assert sarle.merge([{"size": [h, w], "counts": r} for r in group], intersect) == got
    assert sarle.merge([rle(r, h, w) for r in group], intersect=intersect) == got
    assert ref.runs_from_string(got["counts"]) == ref.merge(group, intersect)


@given(S.groups(1, 5, 40), st.booleans())
def test_merge_dense(coco, g, intersect):
    h, w, group = g
    ms = [ref.mask_from_runs(r, h, w) for r in group]
    rles = [coco_rle(coco, r, h, w) for r in group]
    want = np.logical_and.reduce(ms) if intersect else np.logical_or.reduce(ms)
    got = sarle.merge(rles, intersect=intersect)
    assert got["size"] == [h, w]
    assert got["counts"] == coco.merge(rles, intersect=intersect)["counts"].decode()
    np.testing.assert_array_equal(sarle.decode(got), want)


@given(S.groups(1, 6, 32), st.data())
def test_iou_dense(coco, g, data):
    h, w, group = g
    ms = [ref.mask_from_runs(r, h, w) for r in group]
    rles = [rle(r, h, w) for r in group]
    k = data.draw(st.integers(0, len(rles)))
    dt, gt = rles[:k] or rles, rles[k:] or rles
    dm, gm = ms[:k] or ms, ms[k:] or ms
    crowd = data.draw(st.lists(st.integers(0, 1), min_size=len(gt), max_size=len(gt)))
    got = sarle.iou(dt, gt, crowd)
    np.testing.assert_array_equal(got, coco.iou(dt, gt, crowd))
    for i, a in enumerate(dm):
        for j, b in enumerate(gm):
            inter = int((a & b).sum())
            union = int(a.sum()) if crowd[j] else int((a | b).sum())
            assert got[i, j] == (inter / union if inter else 0.0)


def test_iou_forms(coco):
    a = S.structured_mask("ellipses", 30, 40, seed=1)
    b = S.structured_mask("ellipses", 30, 40, seed=2)
    ra, rb = sarle.encode(a), sarle.encode(b)
    want = coco.iou([ra], [rb], [0])
    assert want[0, 0] > 0
    np.testing.assert_array_equal(sarle.iou(ra, rb), want)  # one RLE = a list of one
    np.testing.assert_array_equal(sarle.iou([ra], rb, [False]), want)
    np.testing.assert_array_equal(sarle.iou(ra, [rb], [True]), coco.iou([ra], [rb], [1]))
    assert sarle.iou([ra, rb], [ra, rb, ra]).shape == (2, 3)
    assert sarle.iou([], [ra, rb]).shape == (0, 2)
    assert sarle.iou([ra, rb], []).shape == (2, 0)
    assert sarle.iou([], []).shape == (0, 0)
    # Identical masks: 1.0; disjoint: 0.0; empty vs anything: 0.0.
    e = sarle.encode(np.zeros((30, 40), bool))
    np.testing.assert_array_equal(sarle.iou([ra, e], [ra, sarle.encode(~a), e]),
                                  [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])


def test_merge_forms_and_many(coco):
    ms = [S.structured_mask(k, 37, 53, seed=i) for i, k in enumerate(("ellipses", "holes", "noise",
                                                                         "lines", "fragments"))]
    rles = [sarle.encode(m) for m in ms]
    for n in range(1, len(ms) + 1):
        for intersect in (False, True):
            want = coco.merge(rles[:n], intersect=intersect)
            got = sarle.merge(rles[:n], intersect)
            assert got == {"size": [37, 53], "counts": want["counts"].decode()}
            mixed = [dict(r, counts=r["counts"].encode()) if i % 2 else
                     sarle.decompress(r) for i, r in enumerate(rles[:n])]
            assert sarle.merge(mixed, intersect=intersect) == got
    # A tuple of RLEs, and merging a mask with itself.
    assert sarle.merge(tuple(rles[:2])) == sarle.merge(rles[:2])
    assert sarle.merge([rles[0]] * 3) == rles[0]
    assert sarle.merge([rles[0]] * 3, intersect=True) == rles[0]


# ==========================================================================
# 4. Where pycocotools is wrong: the reference is the oracle
# ==========================================================================

big = S.big_runs()  # runs and deltas up to 2**34 + 1, h*w up to ~2**38


@given(big)
@example((1, 2**29 + 3, [1, 2**29 + 1, 1]))  # a raw value above 2**29: 7 groups
@example((1, 2**29 + 4, [1, 1, 1, 2**29 + 1]))  # a delta of exactly 2**29 at index 3
@example((1, 2**31 + 2, [1, 1, 2**31]))
@example((65536, 65537, [0, 2**32 + 5, 65536 * 65537 - 2**32 - 5]))  # h*w and a run >= 2**32
def test_runs_vs_reference(t):
    # Deltas >= 2**29 (pycocotools shifts an int), h*w >= 2**32 (it wraps):
    # exact Python-int reference instead.
    h, w, runs = t
    counts = ref.string_from_runs(runs)
    for form in (counts, counts.encode(), runs, np.array(runs, dtype=np.uint64)):
        r = {"size": np.array([h, w], dtype=np.uint64), "counts": form}
        assert sarle.compress(r) == {"size": [h, w], "counts": counts}
        assert sarle.decompress(r) == {"size": [h, w], "counts": runs}
        assert sarle.area(r) == ref.area(runs)
        np.testing.assert_array_equal(sarle.bbox(r), np.array(ref.bbox(runs, h, w), dtype=np.float64))


@given(S.big_groups(1, 4), st.booleans(), st.data())
def test_merge_iou_vs_reference(g, intersect, data):
    h, w, group = g
    rles = [rle(r, h, w) for r in group]
    got = sarle.merge(rles, intersect=intersect)
    assert got == {"size": [h, w], "counts": ref.string_from_runs(ref.merge(group, intersect))}
    crowd = data.draw(st.lists(st.booleans(), min_size=len(group), max_size=len(group)))
    np.testing.assert_array_equal(sarle.iou(rles, rles, crowd), ref.iou(group, group, crowd))
    np.testing.assert_array_equal(sarle.area(rles), [ref.area(r) for r in group])
    np.testing.assert_array_equal(sarle.bbox(rles), [ref.bbox(r, h, w) for r in group])


@given(S.non_canonical(S.sized_runs(32)))
def test_non_canonical_dense(t):
    # pycocotools passes interior zero runs through (frUncompressedRLE) and
    # then gets bbox and merge wrong; the reference is the oracle.  sarle must
    # read them as the same mask and always emit the canonical form.
    h, w, nc, canon = t
    m = ref.mask_from_runs(canon, h, w)
    counts = ref.string_from_runs(canon)
    for form in (nc, np.array(nc, dtype=np.uint64), ref.string_from_runs(nc)):
        r = {"size": [h, w], "counts": form}
        np.testing.assert_array_equal(sarle.decode(r), m)
        np.testing.assert_array_equal(sarle.decode(r, order="F"), m)
        assert sarle.compress(r) == {"size": [h, w], "counts": counts}
        assert sarle.decompress(r) == {"size": [h, w], "counts": canon}
        assert sarle.area(r) == int(m.sum())
        np.testing.assert_array_equal(sarle.bbox(r), ref.bbox_from_mask(m))
        assert sarle.merge([r]) == {"size": [h, w], "counts": counts}
        assert sarle.merge([r, r], intersect=True) == {"size": [h, w], "counts": counts}
        assert sarle.encode(sarle.decode(r)) == {"size": [h, w], "counts": counts}


@given(S.non_canonical(S.big_runs(max_runs=12)), st.booleans(), st.data())
def test_non_canonical_runs(t, intersect, data):
    h, w, nc, canon = t
    r_nc = {"size": [h, w], "counts": nc}
    s_nc = {"size": [h, w], "counts": ref.string_from_runs(nc)}
    for r in (r_nc, s_nc):
        assert sarle.compress(r)["counts"] == ref.string_from_runs(canon)
        assert sarle.decompress(r)["counts"] == canon
        assert sarle.area(r) == ref.area(canon)
        np.testing.assert_array_equal(sarle.bbox(r), ref.bbox(canon, h, w))
    # merge and iou with other masks of the same size
    others = data.draw(st.lists(S.runs_with_total(h * w, 12), min_size=1, max_size=3))
    got = sarle.merge([r_nc] + [rle(o, h, w) for o in others], intersect)
    assert got["counts"] == ref.string_from_runs(ref.merge([canon] + others, intersect))
    np.testing.assert_array_equal(sarle.iou([r_nc], [rle(o, h, w) for o in others]),
                                  ref.iou([canon], others))


def test_non_canonical_examples():
    # The NOTES.md example: [0, 5, 0, 5, 10] is the mask [0, 10, 10].
    r = {"size": [4, 5], "counts": [0, 5, 0, 5, 10]}
    assert sarle.compress(r) == {"size": [4, 5], "counts": ref.string_from_runs([0, 10, 10])}
    assert sarle.decompress(r)["counts"] == [0, 10, 10]
    m = ref.mask_from_runs([0, 10, 10], 4, 5)
    np.testing.assert_array_equal(sarle.decode(r), m)
    # pycocotools' merge truncates here; sarle must not.
    other = sarle.encode(np.zeros((4, 5), bool))
    assert sarle.merge([r, other]) == sarle.encode(m)
    assert sarle.merge([r, {"size": [4, 5], "counts": [20]}], intersect=True) == other
    # Trailing zero runs and a zero-length foreground run only.
    assert sarle.decompress({"size": [4, 5], "counts": [20, 0]})["counts"] == [20]
    assert sarle.decompress({"size": [4, 5], "counts": [20, 0, 0]})["counts"] == [20]
    assert sarle.compress({"size": [4, 5], "counts": [0, 0, 20]})["counts"] == "d0"  # [20]
    # A zero-length foreground run only (pycocotools' toBbox returns garbage here).
    assert sarle.bbox({"size": [4, 5], "counts": [7, 0, 13]}).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert sarle.bbox({"size": [4, 5], "counts": "70="}).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert sarle.area({"size": [4, 5], "counts": "70="}) == 0
    assert ref.runs_from_string("70=") == [7, 0, 13]


@pytest.mark.parametrize("n", [255, 256, 300, 1000])
def test_area_bbox_many(n):
    # pycocotools.area raises OverflowError for 256+ RLEs on numpy 2.
    rng = np.random.default_rng(n)
    group = [S.structured_mask(S.KINDS[i % len(S.KINDS)], 9, 13, seed=int(rng.integers(2**32)))
             for i in range(n)]
    rles = [sarle.encode(m) for m in group]
    areas = sarle.area(rles)
    assert areas.dtype == np.uint64 and areas.shape == (n,)
    np.testing.assert_array_equal(areas, [int(m.sum()) for m in group])
    np.testing.assert_array_equal(sarle.bbox(rles), [ref.bbox_from_mask(m) for m in group])
    batch = {"counts": np.array([r["counts"].encode() for r in rles], dtype=object),
             "size": np.full((n, 2), [9, 13], dtype=np.uint64)}
    np.testing.assert_array_equal(sarle.area(batch), areas)
    np.testing.assert_array_equal(sarle.decode(batch), np.stack(group))


@st.composite
def column_patterned(draw):
    """A mask of 17+ columns (the column sweep of C-order decode, not its narrow path)
    made of stretches of empty, full and mixed columns, and its runs with zero-length
    runs sometimes inserted where a run meets a column edge."""
    h = draw(st.integers(1, 9))
    w = draw(st.integers(17, 60))
    kinds = draw(st.lists(st.sampled_from(["empty", "full", "mixed"]), min_size=1, max_size=6))
    bounds = sorted(draw(st.lists(st.integers(1, w - 1), min_size=len(kinds) - 1,
                                  max_size=len(kinds) - 1, unique=True)))
    mask = np.zeros((h, w), bool)
    for kind, a, b in zip(kinds, [0] + bounds, bounds + [w]):
        if kind == "full":
            mask[:, a:b] = True
        elif kind == "mixed":
            bits = draw(st.lists(st.booleans(), min_size=h * (b - a), max_size=h * (b - a)))
            mask[:, a:b] = np.array(bits, bool).reshape(h, b - a)
    runs = ref.runs_from_mask(mask)
    if draw(st.booleans()):   # zero-length runs where a run ends on a column edge
        out, pos = [], 0
        for run in runs:
            out.append(run)
            pos += run
            if run and pos % h == 0 and draw(st.booleans()):
                out += [0, 0]
        runs = out
    return mask, runs


@given(column_patterned())
def test_decode_c_column_stretches(t):
    # C-order decode jumps over columns inside one run; check it against the mask.
    mask, runs = t
    h, w = mask.shape
    for counts in (runs, ref.string_from_runs(runs)):
        r = {"size": [h, w], "counts": counts}
        np.testing.assert_array_equal(sarle.decode(r), mask)
        np.testing.assert_array_equal(sarle.decode([r, r]), np.stack([mask, mask]))
        assert sarle.encode(mask) == {"size": [h, w], "counts": ref.string_from_runs(ref.runs_from_mask(mask))}


@st.composite
def short_run_masks(draw):
    """A mask of 17+ columns with short runs (what C-order decode may write pixel by pixel
    instead of sweeping columns), as (mask, runs): noise of any density, alone or beside a
    solid block, zero-length runs sometimes inserted."""
    h = draw(st.integers(16, 48))
    w = draw(st.integers(17, 48))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    mask = rng.random((h, w)) < draw(st.floats(0.3, 0.7))
    if draw(st.booleans()):
        mask[: h // 3, : w // 3] = draw(st.booleans())
    runs = ref.runs_from_mask(mask)
    if draw(st.booleans()):
        at = draw(st.integers(1, len(runs)))
        runs = runs[:at] + [0, 0] + runs[at:]
    return mask, runs


def _with_kernel_setting(setter, value, call):
    """Run ``call()`` with a kernel tuning set through ``setter`` (it returns the old value)."""
    before = setter(value)
    try:
        return call()
    finally:
        setter(before)


def _with_strided_run(limit, call):
    from sarle import _rle

    return _with_kernel_setting(_rle._set_strided_run, limit, call)


@given(short_run_masks(), st.sampled_from([0, 2, 12, 1 << 40]))
def test_decode_c_short_runs(t, limit):
    # Whether C-order decode sweeps columns (limit 0) or writes pixel by pixel (a large
    # limit) or picks per mask, the mask is the same.
    mask, runs = t
    h, w = mask.shape
    string = ref.string_from_runs(runs)

    def check():
        for counts in (runs, string):
            r = {"size": [h, w], "counts": counts}
            np.testing.assert_array_equal(sarle.decode(r), mask)
            np.testing.assert_array_equal(sarle.decode([r, r], threads=1), np.stack([mask, mask]))
            out = np.ones((h, w), np.uint8)
            np.testing.assert_array_equal(sarle.decode(r, out=out), mask)

    _with_strided_run(limit, check)


@given(short_run_masks(), st.data())
def test_decode_c_short_runs_errors(t, data):
    # A malformed string gets the same error whichever way C-order decode would write it.
    mask, runs = t
    h, w = mask.shape
    string = ref.string_from_runs(runs)
    cut = data.draw(st.integers(0, len(string) - 1))
    bad = data.draw(st.sampled_from([
        string[:cut],                                  # short sum, or ends inside a group
        string[:cut] + "z" + string[cut + 1:],         # character outside the alphabet
        string + "1",                                  # sum past h * w
        string[:cut] + "o" + string[cut:],             # a continuation group inserted
    ]))
    r = {"size": [h, w], "counts": bad}

    def outcome():
        try:
            return "ok", sarle.decode(r).tobytes()
        except ValueError as error:
            return "ValueError", str(error)

    assert _with_strided_run(0, outcome) == _with_strided_run(1 << 40, outcome)


@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1),
       st.sampled_from(["holes", "noise"]), st.sampled_from("CF"))
def test_decode_dense_mask_into_reused_memory(h, w, seed, kind, order):
    # A mask mostly foreground is decoded into np.empty, every byte written once: nothing
    # of the memory's earlier contents may show through, on the sweep (holes: long runs)
    # or the strided way (noise: short runs).
    rng = np.random.default_rng(seed)
    if kind == "noise":
        mask = rng.random((h, w)) < 0.7
    else:
        mask = np.ones((h, w), bool)
        for _ in range(rng.integers(0, 4)):
            y, x = rng.integers(0, h), rng.integers(0, w)
            mask[y:y + rng.integers(1, h // 3 + 2), x:x + rng.integers(1, w // 3 + 2)] = False
    rle = sarle.encode(mask)
    for _ in range(2):
        junk = np.ones(h * w, bool)   # numpy's cache hands a freed small block to the
        del junk                      # next array of its size: the decode gets dirty memory
        np.testing.assert_array_equal(sarle.decode(rle, order=order), mask)


def test_set_strided_run_rejects_negative():
    from sarle import _rle

    with pytest.raises(ValueError, match="must not be negative"):
        _rle._set_strided_run(-1)


def _with_stream_stores(limit, call):
    from sarle import _rle

    return _with_kernel_setting(_rle._set_stream_stores, limit, call)


_STREAM_KINDS = S.KINDS + ("sparse", "dense")


def _stream_mask(kind, h, w, seed):
    """A mask for the streamed decode: the structured kinds, and a few boxes on a
    background (sparse) or holes in a foreground (dense), so that long runs of either
    value, whole lines of zeros or of ones, come up at every size."""
    if kind not in ("sparse", "dense"):
        return S.structured_mask(kind, h, w, seed)
    rng = np.random.default_rng(seed)
    m = np.zeros((h, w), bool)
    for _ in range(rng.integers(1, 4)):
        y, x = rng.integers(0, h), rng.integers(0, w)
        m[y:y + rng.integers(1, h // 3 + 2), x:x + rng.integers(1, w // 3 + 2)] = True
    return ~m if kind == "dense" else m


@given(st.integers(1, 40), st.integers(1, 90), st.lists(
           st.tuples(st.sampled_from(_STREAM_KINDS), st.integers(0, 2**32 - 1)),
           min_size=1, max_size=4),
       st.integers(0, 63), st.sampled_from("CF"), st.sampled_from([0, 12, 1 << 40]),
       st.integers(0, 2))
def test_decode_out_streamed(h, w, kinds, offset, order, strided, level):
    # A batch into out= that holds at least stream_store_bytes is written by the
    # streaming writer (every line once, in memory order, by non-temporal stores; the
    # lines shared with the bytes around a mask by plain stores), or, for masks of short
    # runs, zeroed by non-temporal stores and then written pixel by pixel: with streaming
    # forced (limit 0) and off, at every SIMD level (each has its own line stores), every
    # alignment of out and either layout, the result is the mask, and not a byte outside
    # out changes.
    from sarle import _rle

    level = min(level, _rle._stats_simd_levels()[1])
    masks = np.stack([_stream_mask(kind, h, w, seed) for kind, seed in kinds])
    rles = [sarle.encode(m) for m in masks]
    n = len(masks)
    size = n * h * w

    def decode_into_junk():
        buf = np.full(size + 128, 0x5A, np.uint8)
        if order == "C":
            out = buf[offset:offset + size].reshape(n, h, w)
        else:
            out = np.swapaxes(buf[offset:offset + size].reshape(n, w, h), 1, 2)
        sarle.decode(rles, out=out, threads=1)
        return buf

    def run():
        before = _rle._set_stats_simd(level)
        try:
            return [_with_stream_stores(limit, decode_into_junk) for limit in (0, 1 << 62)]
        finally:
            _rle._set_stats_simd(before)

    for buf in _with_strided_run(strided, run):
        assert (buf[:offset] == 0x5A).all() and (buf[offset + size:] == 0x5A).all()
        got = buf[offset:offset + size]
        want = masks if order == "C" else np.swapaxes(masks, 1, 2)
        np.testing.assert_array_equal(got, want.reshape(-1).view(np.uint8))


@st.composite
def row_segment_masks(draw):
    """Masks whose rows are each empty, full, or one or two segments with ends drawn
    near the row's edges: the sweep's per-row bookkeeping ("written up to") at its
    edges, with runs of untouched rows between."""
    h = draw(st.integers(2, 12))
    w = draw(st.integers(17, 40))
    ends = st.sampled_from([0, 1, 2, w // 2, w - 2, w - 1, w])
    m = np.zeros((h, w), bool)
    for y in range(h):
        kind = draw(st.sampled_from(["empty", "empty", "full", "one", "two"]))
        if kind == "full":
            m[y] = True
        elif kind != "empty":
            for _ in range(1 if kind == "one" else 2):
                a, b = sorted((draw(ends), draw(ends)))
                m[y, a:b] = True
    return m


@given(row_segment_masks(), st.sampled_from([0, 1 << 62]))
def test_decode_out_rows_at_edges(m, stream):
    # Every byte of out= is written, by the column sweep, whether or not the batch
    # takes the streamed way.
    h, w = m.shape
    rles = [sarle.encode(m), sarle.encode(~m)]

    def run():
        out = np.full((2, h, w), 0x5A, np.uint8)
        sarle.decode(rles, out=out, threads=1)
        return out

    out = _with_strided_run(0, lambda: _with_stream_stores(stream, run))
    np.testing.assert_array_equal(out, np.stack([m, ~m]))


def test_decode_out_streamed_large():
    # The default limit (16 MiB): a batch of SA-1B-sized masks into out= takes the
    # streamed way (mostly background and mostly foreground masks), on one thread or
    # two, a single one the plain way; all give the masks.
    from sarle import _rle

    masks = np.stack([S.sa1b_like_mask(seed, 1500, 2250) for seed in range(4)]
                     + [~S.sa1b_like_mask(9, 1500, 2250)])
    limit = _rle._set_stream_stores(16 << 20)
    _rle._set_stream_stores(limit)
    assert limit == 16 << 20 and masks.nbytes >= limit
    assert masks[0].mean() < 0.5 < masks[-1].mean()
    rles = [sarle.encode(m) for m in masks]
    for order in "CF":
        out = np.ones(masks.shape, bool)
        if order == "F":
            out = np.swapaxes(np.ones((5, 2250, 1500), bool), 1, 2)
        for threads in (1, 2):   # two threads: each slice under the limit, the batch over
            out[...] = True
            np.testing.assert_array_equal(sarle.decode(rles, out=out, threads=threads), masks)
        one = np.ones((1500, 2250), bool, order=order)
        np.testing.assert_array_equal(sarle.decode(rles[-1], out=one), masks[-1])


def _with_dense_transpose(limit, call):
    from sarle import _rle

    return _with_kernel_setting(_rle._set_dense_transpose, limit, call)


@given(st.one_of(S.masks(48), S.structured_masks(48), short_run_masks().map(lambda t: t[0])),
       st.sampled_from([0, 1, 128, 1 << 40]), st.sampled_from([1, 3, 255]))
def test_encode_c_order_either_transpose(m, limit, value):
    # encode of a C-order mask turns its row-major changes into the column-major string
    # by sweeping them (limit 0) or by a transposed copy of the bounding box (a large
    # limit), or picks per mask: the string is the same, pycocotools' one.
    a = m.astype(np.uint8) * np.uint8(value)
    want = expected_string(m)

    def check():
        assert sarle.encode(a)["counts"] == want
        assert sarle.encode(np.ascontiguousarray(m))["counts"] == want
        assert [r["counts"] for r in sarle.encode(np.stack([a, a]), threads=1)] == [want, want]

    _with_dense_transpose(limit, check)


@pytest.mark.parametrize("limit", [0, 1 << 40])
def test_encode_c_order_box_edges(limit):
    # Boxes that touch the top, the bottom or both, are one pixel wide or high, or span
    # the width, with foreground running off the bottom of the box into the next column:
    # the transposed copy separates columns by a background byte unless the box is
    # full height.
    h, w = 37, 29
    cases = []
    for y0, y1 in ((0, 37), (5, 37), (0, 20), (5, 6), (5, 20), (36, 37)):
        for x0, x1 in ((0, 29), (3, 4), (3, 17), (28, 29)):
            m = np.zeros((h, w), bool)
            m[y0:y1, x0:x1] = True
            cases.append(m)
            holes = m.copy()
            holes[y0:y1:2, x0:x1:3] = False
            cases.append(holes)
    def check():
        for m in cases:
            assert sarle.encode(m)["counts"] == expected_string(m)

    _with_dense_transpose(limit, check)


def test_set_dense_transpose_rejects_negative():
    from sarle import _rle

    with pytest.raises(ValueError, match="must not be negative"):
        _rle._set_dense_transpose(-1)
