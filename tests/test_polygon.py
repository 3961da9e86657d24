"""Polygon and box rasterisation against pycocotools, pixel for pixel.

COCO's polygon fill is its own (upsample x5, walk the edges, keep
x-crossings with ``(x + .5) / 5 - .5``, toggle), so the only oracle is
pycocotools itself, live.  Coordinates are drawn where that rule is
delicate: integers, halves (pixel borders and centres), tenths, arbitrary
floats, the image's last pixel, small negatives (C truncation toward zero),
far outside the image; polygons degenerate to a point or a line, with
repeated vertices.

The kernel is ``sarle._rle._polygon_runs`` (one polygon -> runs); the public
functions are ``sarle.from_polygon`` (union of an object's polygons, COCO's
``annToRLE``), ``sarle.from_bbox`` and ``sarle.coco.frPoly``/``frBbox``.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

sarle = pytest.importorskip("sarle")
coco_mask = pytest.importorskip("pycocotools.mask")
coco_c = pytest.importorskip("pycocotools._mask")

from common import coco_decode  # noqa: E402
from sarle import coco as drop_in  # noqa: E402
from sarle._rle import _polygon_runs  # noqa: E402

# --------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------


@st.composite
def coordinate(draw, side: int) -> float:
    """One coordinate for an axis of ``side`` pixels, aimed at COCO's rounding edges."""
    kind = draw(st.sampled_from(("int", "half", "tenth", "float", "edge", "far")))
    if kind == "int":
        return float(draw(st.integers(-3, side + 3)))
    if kind == "half":
        return draw(st.integers(-6, 2 * side + 6)) / 2
    if kind == "tenth":
        return draw(st.integers(-30, 10 * side + 30)) / 10
    if kind == "float":
        return draw(st.floats(-5, side + 5, allow_nan=False))
    if kind == "edge":
        return draw(st.sampled_from((
            0.0, 0.1, 0.3, 0.49, 0.5, 0.51, 0.7, -0.1, -0.2, -0.3, -0.5, -0.7,
            side - 1.0, side - 0.5, side - 0.1, float(side), side + 0.5,
        )))
    return draw(st.sampled_from((-1e4, -257.3, 1e4 + 0.5, 3e4)))


@st.composite
def polygon(draw, h: int, w: int, min_points: int = 3, max_points: int = 10) -> list:
    """A flat ``[x0, y0, ...]`` polygon: random, degenerate, collinear or with repeats."""
    k = draw(st.integers(min_points, max_points))
    shape = draw(st.sampled_from(("random", "random", "point", "line", "repeats", "rect")))
    if shape == "point":
        points = [(draw(coordinate(w)), draw(coordinate(h)))] * k
    elif shape == "line":
        x0, y0 = draw(coordinate(w)), draw(coordinate(h))
        dx, dy = draw(st.sampled_from((-1, -0.5, 0, 0.5, 1, 2))), draw(st.sampled_from((-1, 0, 0.5, 1, 3)))
        ts = draw(st.lists(st.integers(-6, 6), min_size=k, max_size=k))
        points = [(x0 + t * dx, y0 + t * dy) for t in ts]
    elif shape == "rect":
        x0, x1 = draw(coordinate(w)), draw(coordinate(w))
        y0, y1 = draw(coordinate(h)), draw(coordinate(h))
        points = [(x0, y0), (x0, y1), (x1, y1), (x1, y0)]
    else:
        points = [(draw(coordinate(w)), draw(coordinate(h))) for _ in range(k)]
        if shape == "repeats":
            idx = sorted(draw(st.lists(st.integers(0, k - 1), min_size=k, max_size=2 * k)))
            points = [points[i] for i in idx]
            if len(points) < min_points:
                points += [points[-1]] * (min_points - len(points))
    return [float(c) for p in points for c in p]


image_sizes = st.tuples(st.integers(1, 40), st.integers(1, 40))


@st.composite
def image_and_polygons(draw, min_polygons: int = 1, max_polygons: int = 1,
                       min_points: int = 3) -> tuple:
    h, w = draw(image_sizes)
    n = draw(st.integers(min_polygons, max_polygons))
    return h, w, [draw(polygon(h, w, min_points)) for _ in range(n)]


@st.composite
def image_and_boxes(draw) -> tuple:
    h, w = draw(image_sizes)
    n = draw(st.integers(1, 4))
    boxes = []
    for _ in range(n):
        x, y = draw(coordinate(w)), draw(coordinate(h))
        bw = draw(st.one_of(coordinate(w), st.sampled_from((0.0, 0.5, 1.0, -1.0, -2.5))))
        bh = draw(st.one_of(coordinate(h), st.sampled_from((0.0, 0.5, 1.0, -1.0, -2.5))))
        boxes.append([x, y, bw, bh])
    return h, w, boxes


# --------------------------------------------------------------------------
# oracles
# --------------------------------------------------------------------------


def coco_union(polygons, h, w) -> dict:
    """COCO's annToRLE for a polygon segmentation."""
    return coco_mask.merge(coco_mask.frPyObjects(polygons, h, w))


def check_runs(runs: np.ndarray, h: int, w: int) -> None:
    """Canonical runs: int64 1-D, sum h*w, no zero-length run but the first."""
    assert runs.dtype == np.int64 and runs.ndim == 1
    assert int(runs.sum()) == h * w
    assert (runs >= 0).all()
    assert (runs[1:] > 0).all()


def assert_union_matches(polygons, h, w) -> None:
    ours = sarle.from_polygon(polygons, h, w)
    theirs = coco_union(polygons, h, w)
    assert ours["size"] == [h, w]
    # Same mask, and the same (canonical) string.
    np.testing.assert_array_equal(sarle.decode(ours, order="F").view(np.uint8),
                                  coco_decode(theirs))
    assert ours["counts"].encode() == theirs["counts"]


# --------------------------------------------------------------------------
# the kernel
# --------------------------------------------------------------------------


def test_kernel_unit_square():
    runs = _polygon_runs(np.array([0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 0.0]), 4, 4)
    check_runs(runs, 4, 4)
    assert runs.tolist() == [0, 2, 2, 2, 10]


def test_kernel_whole_image_starts_with_zero_run():
    runs = _polygon_runs(np.array([0.0, 0.0, 0.0, 3.0, 5.0, 3.0, 5.0, 0.0]), 3, 5)
    assert runs.tolist() == [0, 15]


@pytest.mark.parametrize("h, w", [(0, 0), (0, 5), (5, 0)])
def test_kernel_empty_image(h, w):
    assert _polygon_runs(np.array([0.0, 0.0, 4.0, 0.0, 4.0, 4.0]), h, w).tolist() == [0]


def test_kernel_no_points_is_empty_mask():
    assert _polygon_runs(np.zeros(0), 3, 4).tolist() == [12]


@given(image_and_polygons(min_points=1))
def test_kernel_matches_pycocotools_frpoly(case):
    """Any number of points, even 1 or 2, exactly as pycocotools' frPoly."""
    h, w, (poly,) = case
    runs = _polygon_runs(np.array(poly), h, w)
    check_runs(runs, h, w)
    theirs = coco_c.frPoly([poly], h, w)[0]
    ours = sarle.compress({"size": [h, w], "counts": runs})
    assert ours["counts"].encode() == theirs["counts"]


@pytest.mark.parametrize("bad, match", [
    ([0.0, 0.0, 1.0, 1.0, 2.0], "odd number"),
    ([0.0, np.nan, 1.0, 1.0, 2.0, 0.0], "not finite"),
    ([0.0, 0.0, np.inf, 1.0, 2.0, 0.0], "not finite"),
    ([0.0, 0.0, -np.inf, 1.0, 2.0, 0.0], "not finite"),
    ([0.0, 0.0, 2.0**41, 1.0, 2.0, 0.0], "2\\*\\*40"),
])
def test_kernel_rejects_bad_coordinates(bad, match):
    with pytest.raises(ValueError, match=match):
        _polygon_runs(np.array(bad), 4, 4)


@pytest.mark.parametrize("h, w", [(-1, 3), (3, -1), (2**31, 2**32)])
def test_kernel_rejects_bad_size(h, w):
    with pytest.raises(ValueError):
        _polygon_runs(np.array([0.0, 0.0, 1.0, 1.0, 2.0, 0.0]), h, w)


def test_kernel_far_vertices_cost_nothing():
    """The upsampled walk is never stored: a vertex at 2**39 is instant and exact.

    pycocotools would allocate terabytes here.  The triangle's other two
    vertices sit inside the image; the far vertex only makes the polygon's
    edges nearly horizontal, so the result equals the same triangle with the
    far vertex pulled in along the same lines (checked against pycocotools).
    """
    far = 2.0**39
    runs = _polygon_runs(np.array([2.0, 2.0, 2.0, 10.0, far, 6.0]), 12, 16)
    check_runs(runs, 12, 16)
    assert runs.size > 2  # something was drawn
    near = [2.0, 2.0, 2.0, 10.0, 2.0**20, 6.0]
    assert runs.tolist() == _polygon_runs(np.array(near), 12, 16).tolist()
    ours = sarle.compress({"size": [12, 16], "counts": runs})
    assert ours["counts"].encode() == coco_c.frPoly([near], 12, 16)[0]["counts"]


def test_kernel_huge_image_positions_are_64_bit():
    """h*w >= 2**32: pycocotools' uint positions would wrap."""
    h, w = 70000, 70000
    runs = _polygon_runs(np.array([69990.0, 69990.0, 69990.0, 70000.0,
                                   70000.0, 70000.0, 70000.0, 69990.0]), h, w)
    check_runs(runs, h, w)
    assert int(runs[1::2].sum()) == 100
    assert int(runs[0]) == 69990 * h + 69990


# --------------------------------------------------------------------------
# from_polygon: the union of an object's polygons
# --------------------------------------------------------------------------


@given(image_and_polygons())
@example((4, 4, [[0.0, 0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 0.0]]))
@example((5, 5, [[4.5, 4.5, 5.0, 4.5, 5.0, 5.0]]))                   # last pixel
@example((3, 3, [[-0.2, -0.2, 0.3, -0.2, 0.3, 0.3, -0.2, 0.3]]))     # C truncation
@example((6, 7, [[1.5, 1.5, 1.5, 1.5, 1.5, 1.5]]))                   # a point
@example((6, 7, [[0.0, 0.0, 2.0, 2.0, 4.0, 4.0]]))                   # collinear
@example((8, 8, [[1.0, 1.0, 1.0, 1.0, 6.0, 1.0, 6.0, 6.0, 6.0, 6.0, 1.0, 6.0]]))  # repeats
def test_from_polygon_single(case):
    h, w, polygons = case
    assert_union_matches(polygons, h, w)


@given(image_and_polygons(min_polygons=2, max_polygons=4))
def test_from_polygon_multi(case):
    h, w, polygons = case
    assert_union_matches(polygons, h, w)


def test_from_polygon_accepts_arrays_and_k2():
    poly = [1.0, 1.0, 6.5, 1.2, 5.0, 7.5, 0.5, 5.0]
    want = sarle.from_polygon([poly], 9, 8)
    assert sarle.from_polygon([np.array(poly)], 9, 8) == want
    assert sarle.from_polygon([np.array(poly).reshape(-1, 2)], 9, 8) == want
    assert sarle.from_polygon([tuple(poly)], 9, 8) == want


@pytest.mark.parametrize("h, w", [(0, 0), (0, 6), (6, 0)])
def test_from_polygon_empty_image(h, w):
    """pycocotools returns runs that do not sum to 0 for w == 0; sarle the empty mask."""
    rle = sarle.from_polygon([[0.0, 0.0, 5.0, 0.0, 5.0, 5.0]], h, w)
    assert rle["size"] == [h, w]
    assert sarle.decode(rle).shape == (h, w)
    assert sarle.area(rle) == 0


@pytest.mark.parametrize("polygons, error", [
    ([[0.0, 0.0, 1.0, 1.0, 2.0]], ValueError),                   # odd length
    ([[0.0, 0.0, 1.0, 1.0]], ValueError),                        # 2 points
    ([[0.0, 0.0]], ValueError),                                  # 1 point
    ([[]], ValueError),                                          # no point
    ([], ValueError),                                            # no polygon
    ([[0.0, 0.0, float("nan"), 1.0, 2.0, 0.0]], ValueError),
    ([[0.0, 0.0, float("inf"), 1.0, 2.0, 0.0]], ValueError),
    ([[0.0, 0.0, 1e13, 1.0, 2.0, 0.0]], ValueError),             # beyond 2**40
    ([[[0.0, 0.0, 1.0], [1.0, 2.0, 0.0]]], ValueError),          # (k, 3)
    ([[0.0, 0.0, 1.0, 1.0, 2.0, 0.0], [0.0, 1.0, 2.0]], ValueError),  # second one bad
    ([["a", "b", "c", "d", "e", "f"]], (TypeError, ValueError)),
])
def test_from_polygon_rejects_bad_polygons(polygons, error):
    with pytest.raises(error):
        sarle.from_polygon(polygons, 10, 10)


@pytest.mark.parametrize("h, w", [(-1, 5), (5, -1), (2.5, 5)])
def test_from_polygon_rejects_bad_size(h, w):
    with pytest.raises(ValueError):
        sarle.from_polygon([[0.0, 0.0, 1.0, 1.0, 2.0, 0.0]], h, w)


# --------------------------------------------------------------------------
# boxes
# --------------------------------------------------------------------------


@given(image_and_boxes())
@example((3, 4, [[1.0, 0.0, 2.0, 2.0]]))
@example((5, 5, [[-0.5, -0.5, 6.0, 6.0]]))
@example((5, 5, [[4.5, 4.5, 0.5, 0.5]]))
@example((5, 5, [[2.0, 2.0, 0.0, 3.0]]))
@example((5, 5, [[3.0, 3.0, -2.0, -2.0]]))
def test_from_bbox_matches_pycocotools(case):
    h, w, boxes = case
    theirs = coco_c.frBbox(np.array(boxes, dtype=np.float64), h, w)
    ours = sarle.from_bbox(np.array(boxes), h, w)
    assert [r["counts"].encode() for r in ours] == [r["counts"] for r in theirs]
    assert sarle.from_bbox(boxes[0], h, w)["counts"].encode() == theirs[0]["counts"]
    via_drop_in = drop_in.frBbox(boxes, h, w)
    assert via_drop_in == theirs


@pytest.mark.parametrize("boxes", [[0.0, 0.0, 1.0], [[0.0, 0.0, 1.0, 2.0, 3.0]],
                                   [0.0, float("nan"), 1.0, 1.0]])
def test_from_bbox_rejects_bad_boxes(boxes):
    with pytest.raises(ValueError):
        sarle.from_bbox(boxes, 5, 5)


# --------------------------------------------------------------------------
# sarle.coco.frPoly / frPyObjects with polygons
# --------------------------------------------------------------------------


@given(image_and_polygons(min_polygons=1, max_polygons=3, min_points=1))
def test_drop_in_frpoly_matches_pycocotools(case):
    """One RLE per polygon, bytes counts; even 1- and 2-point polygons."""
    h, w, polygons = case
    assert drop_in.frPoly(polygons, h, w) == coco_c.frPoly(polygons, h, w)


@given(image_and_polygons(min_polygons=1, max_polygons=3))
def test_drop_in_frpyobjects_polygons(case):
    h, w, polygons = case
    ours = drop_in.frPyObjects(polygons, h, w)
    assert ours == coco_mask.frPyObjects(polygons, h, w)
    assert drop_in.merge(ours) == coco_union(polygons, h, w)
    # from_polygon is merge(frPyObjects(...)).
    assert sarle.from_polygon(polygons, h, w)["counts"].encode() == drop_in.merge(ours)["counts"]


def test_drop_in_frpoly_odd_length_raises():
    """pycocotools silently drops the last value."""
    with pytest.raises(ValueError, match="odd"):
        drop_in.frPoly([[0.0, 0.0, 4.0, 0.0, 4.0, 4.0, 1.0]], 6, 6)


def test_drop_in_frpoly_empty_polygon_is_empty_mask():
    assert drop_in.frPoly([[]], 3, 4) == [{"size": [3, 4], "counts": b"<"}]
    assert drop_in.frPoly([[]], 3, 4) == coco_c.frPoly([[]], 3, 4)


# --------------------------------------------------------------------------
# long runs
# --------------------------------------------------------------------------


def _random_polygon(rng: np.random.Generator, h: int, w: int) -> list:
    k = int(rng.integers(3, 40))
    kind = rng.integers(0, 5)
    if kind == 0:  # star-shaped, like a COCO object outline
        c = rng.uniform(0, [w, h])
        ang = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = rng.uniform(0, max(h, w) / 1.5, k)
        xy = np.stack([c[0] + r * np.cos(ang), c[1] + r * np.sin(ang)], 1)
    elif kind == 1:
        xy = rng.uniform(-20, [w + 20, h + 20], (k, 2))
    elif kind == 2:
        xy = np.round(rng.uniform(-4, [w + 4, h + 4], (k, 2)) * 2) / 2
    elif kind == 3:
        xy = np.round(rng.uniform(-3, [w + 3, h + 3], (k, 2)) * 10) / 10
    else:
        xy = rng.uniform(-0.7, 0.7, (k, 2)) + rng.uniform(0, [w, h])
    return xy.ravel().tolist()


@pytest.mark.slow
def test_seeded_sweep_against_pycocotools():
    """20 000 polygons, single and multi, on images up to 300 x 300."""
    rng = np.random.default_rng(20240601)
    for _ in range(10_000):
        h, w = (int(v) for v in rng.integers(1, 300, 2))
        polygons = [_random_polygon(rng, h, w) for _ in range(int(rng.integers(1, 4)))]
        assert drop_in.frPoly(polygons, h, w) == coco_c.frPoly(polygons, h, w)
        assert_union_matches(polygons, h, w)


@pytest.mark.slow
@settings(max_examples=3000)
@given(image_and_polygons(min_polygons=1, max_polygons=5, min_points=1))
def test_frpoly_many_examples(case):
    h, w, polygons = case
    assert drop_in.frPoly(polygons, h, w) == coco_c.frPoly(polygons, h, w)
