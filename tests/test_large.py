"""64-bit exactness: h*w >= 2**32 and runs >= 2**32, without dense masks.

pycocotools keeps sizes and runs in 32-bit ``uint`` and wraps silently, so
the oracle here is ``tests/reference.py`` (Python ints, exact).  Only the
``slow`` test at the end makes a dense mask (~4.3 GB).
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference as ref
import strategies as S

sarle = pytest.importorskip("sarle")

H = W = 70_000
N = H * W  # 4.9e9 > 2**32
assert N > 2**32

# Hand-made runs on a 70000 x 70000 mask (sum N each), chosen so that the
# foreground crosses the 2**32 pixel mark, fills whole columns, sits in the
# last column, or is one pixel.
CASES = {
    "run >= 2**32": [5, 2**32 + 7, N - 2**32 - 12],
    "starts past 2**32": [2**32 + 1, 3, N - 2**32 - 4],
    "last column": [N - H + 17, 5, H - 22],
    "last pixel": [N - 1, 1],
    "first pixel": [0, 1, N - 1],
    "full": [0, N],
    "empty": [N],
    "columns": [H * 61_000, H * 3, N - H * 61_003],
    "2**32 then 2**28": [0, 2**32, 2**28, N - 2**32 - 2**28],
    # Deltas (from index 3 on) of 2**29 + 1, 2**31 - 3 and -(2**30 + 2**29 - 6).
    "deltas": [1, 2**30, 3, 2**30 + 2**29 + 1, 2**31, 7, N - (4 * 2**30 + 2**29 + 12)],
    "many small": [2**32 + 100] + [1] * 50 + [N - 2**32 - 150],
}
for _runs in CASES.values():
    assert sum(_runs) == N and all(r > 0 for r in _runs[1:]), _runs


def rle(runs, h=H, w=W):
    return {"size": [h, w], "counts": ref.string_from_runs(runs)}


# Sizes with h*w >= 2**32 (and one just below, as a control).
LARGE_SHAPES = [(70_000, 70_000), (65_536, 65_537), (65_536, 65_536), (1, 2**33 + 3), (2**33 + 3, 1),
                (3, 2**31 + 1), (2**31 + 1, 3), (65_535, 65_537)]


@st.composite
def large_groups(draw, min_size=1, max_size=3):
    """(h, w, [runs, ...]) with h*w around and above 2**32, runs up to h*w."""
    h, w = draw(st.sampled_from(LARGE_SHAPES))
    k = draw(st.integers(min_size, max_size))
    return h, w, [draw(S.runs_with_total(h * w, 16)) for _ in range(k)]


@pytest.mark.parametrize("name", list(CASES))
def test_area_bbox_compress_decompress(name):
    runs = CASES[name]
    counts = ref.string_from_runs(runs)
    for form in (counts, counts.encode(), runs, np.array(runs, dtype=np.uint64)):
        for size in ([H, W], np.array([H, W], dtype=np.uint64)):
            r = {"size": size, "counts": form}
            a = sarle.area(r)
            assert type(a) is int and a == ref.area(runs)
            np.testing.assert_array_equal(sarle.bbox(r), np.array(ref.bbox(runs, H, W), float))
            assert sarle.compress(r) == {"size": [H, W], "counts": counts}
            assert sarle.decompress(r) == {"size": [H, W], "counts": runs}


def test_batch_area_bbox():
    runs = list(CASES.values())
    rles = [rle(r) for r in runs]
    want_area = [ref.area(r) for r in runs]
    want_bbox = [ref.bbox(r, H, W) for r in runs]
    batch = {"counts": np.array([r["counts"].encode() for r in rles], dtype=object),
             "size": np.full((len(rles), 2), H, dtype=np.uint64)}
    for b in (rles, batch):
        areas = sarle.area(b)
        assert areas.dtype == np.uint64
        assert [int(a) for a in areas] == want_area
        np.testing.assert_array_equal(sarle.bbox(b), np.array(want_bbox, dtype=np.float64))


@pytest.mark.parametrize("intersect", [False, True])
def test_merge_iou_cases(intersect):
    names = list(CASES)
    runs = [CASES[n] for n in names]
    rles = [rle(r) for r in runs]
    for i in range(len(runs)):
        for j in range(len(runs)):
            got = sarle.merge([rles[i], rles[j]], intersect=intersect)
            want = ref.merge([runs[i], runs[j]], intersect)
            assert got == rle(want), (names[i], names[j])
    # 3+ masks at once, and uncompressed inputs.
    got = sarle.merge([{"size": [H, W], "counts": r} for r in runs], intersect)
    assert got == rle(ref.merge(runs, intersect))
    crowd = [k % 2 == 1 for k in range(len(runs))]
    np.testing.assert_array_equal(sarle.iou(rles, rles, crowd), ref.iou(runs, runs, crowd))
    np.testing.assert_array_equal(sarle.iou(rles, rles), ref.iou(runs, runs))


@given(large_groups(), st.booleans(), st.data())
def test_large_properties(g, intersect, data):
    h, w, group = g
    rles = [rle(r, h, w) for r in group]
    for r, runs in zip(rles, group):
        assert sarle.area(r) == ref.area(runs)
        np.testing.assert_array_equal(sarle.bbox(r), np.array(ref.bbox(runs, h, w), float))
        assert sarle.decompress(r) == {"size": [h, w], "counts": runs}
        assert sarle.compress({"size": [h, w], "counts": runs}) == r
    assert sarle.merge(rles, intersect=intersect) == rle(ref.merge(group, intersect), h, w)
    crowd = data.draw(st.lists(st.booleans(), min_size=len(group), max_size=len(group)))
    np.testing.assert_array_equal(sarle.iou(rles, rles, crowd), ref.iou(group, group, crowd))


@given(S.non_canonical(large_groups(1, 1).map(lambda g: (g[0], g[1], g[2][0]))))
def test_large_non_canonical(t):
    h, w, nc, canon = t
    for counts in (nc, ref.string_from_runs(nc)):
        r = {"size": [h, w], "counts": counts}
        assert sarle.compress(r) == rle(canon, h, w)
        assert sarle.decompress(r)["counts"] == canon
        assert sarle.area(r) == ref.area(canon)
        np.testing.assert_array_equal(sarle.bbox(r), np.array(ref.bbox(canon, h, w), float))


# --------------------------------------------------------------------------
# Dense decode/encode of a mask with more than 2**32 pixels (slow, ~4.3 GB)
# --------------------------------------------------------------------------


def _available_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _check_pixels(mask: np.ndarray, runs: list[int]) -> None:
    """Check the first and last pixel of every run, and the foreground count."""
    h = mask.shape[0]
    pos = 0
    for i, r in enumerate(runs):
        for p in {pos, pos + r - 1} if r else ():
            assert mask[p % h, p // h] == bool(i % 2), (i, p)
        pos += r
    assert int(np.count_nonzero(mask)) == ref.area(runs)


H2, W2 = 65_536, 65_537  # 2**32 + 65536 pixels
N2 = H2 * W2
DENSE_CASES = {
    # Foreground on both sides of the 2**32 pixel mark, a run crossing it,
    # a whole-column run, single pixels, and the very last pixel.
    "crossing": [3, 1, 2**31, 7, H2 - 5, 2**32 - 2**31 - H2 - 100, 200, 2**10, 1,
                 N2 - (2**32 + 2**10 + 107) - 1, 1],
    # A foreground run of more than 2**32 pixels.
    "long run": [0, 2**32 + 3, 5, 1, N2 - 2**32 - 9],
}
for _runs in DENSE_CASES.values():
    assert sum(_runs) == N2 and all(r > 0 for r in _runs[1:]), _runs


@pytest.mark.slow
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("name", list(DENSE_CASES))
def test_dense_over_2_32_pixels(name, order):
    runs = DENSE_CASES[name]
    if _available_bytes() < 2.5 * N2:
        pytest.skip(f"needs ~{2.5 * N2 / 2**30:.1f} GiB of free memory")
    r = rle(runs, H2, W2)
    mask = sarle.decode(r, order=order)
    try:
        assert mask.shape == (H2, W2) and mask.dtype == np.bool_
        assert mask.flags.c_contiguous if order == "C" else mask.flags.f_contiguous
        _check_pixels(mask, runs)
        assert sarle.encode(mask) == r
    finally:
        del mask
        gc.collect()
