"""Decoding views straight from the runs: crop=, size=, scale= and label_map.

Oracles: the dense mask sliced with numpy (``mask[y:y+h, x:x+w][rows][:, cols]``)
where ``rows``/``cols`` come from ``torch_nearest`` below, an independent
transcription of PyTorch's nearest-neighbour index rule; PyTorch itself where
it is installed; and a plain numpy painting loop for label maps.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import reference as ref
import sarle
from strategies import KINDS, sized_runs, structured_mask


def torch_nearest(n_in: int, n_out: int) -> np.ndarray:
    """PyTorch's ``nearest_idx``: float32 scale in/out, float32 product, floor, clamp."""
    if n_out == n_in or n_out == 0:
        return np.arange(n_out)
    if n_out == 2 * n_in:
        return np.arange(n_out) // 2
    scale = np.float32(n_in) / np.float32(n_out)
    out = []
    for i in range(n_out):
        out.append(min(int(np.floor(np.float32(i) * scale)), n_in - 1))
    return np.array(out, dtype=np.int64)


def expected_view(mask, crop=None, size=None):
    h, w = mask.shape
    x, y, cw, ch = crop if crop is not None else (0, 0, w, h)
    window = mask[y:y + ch, x:x + cw]
    h2, w2 = size if size is not None else (ch, cw)
    return window[torch_nearest(ch, h2)][:, torch_nearest(cw, w2)]


@st.composite
def masks_and_views(draw):
    h, w, runs = draw(sized_runs(max_side=40, max_runs=40))
    mask = ref.mask_from_runs(runs, h, w)
    crop = None
    if draw(st.booleans()):
        x = draw(st.integers(0, w))
        y = draw(st.integers(0, h))
        crop = (x, y, draw(st.integers(0, w - x)), draw(st.integers(0, h - y)))
    ch, cw = (crop[3], crop[2]) if crop else (h, w)
    size = None
    if draw(st.booleans()):
        def side(n):
            if n == 0:
                return st.just(0)
            return st.one_of(st.integers(0, 3 * n + 2), st.sampled_from([n, 2 * n, n // 2, 1]))
        size = (draw(side(ch)), draw(side(cw)))
    return mask, crop, size


def test_nearest_indices_is_torch_rule():
    for n_in in [1, 2, 3, 7, 10, 1500, 2250]:
        for n_out in [0, 1, 2, 3, 5, 10, 256, 683, 1024, 2 * n_in, 3 * n_in + 1]:
            assert np.array_equal(sarle.nearest_indices(n_in, n_out), torch_nearest(n_in, n_out))


@given(masks_and_views(), st.sampled_from(["C", "F"]))
def test_view_equals_sliced_dense_mask(case, order):
    mask, crop, size = case
    rle = sarle.encode(mask)
    got = sarle.decode(rle, order=order, crop=crop, size=size)
    want = expected_view(mask, crop, size)
    assert got.dtype == np.bool_ and got.shape == want.shape
    assert np.array_equal(got, want)
    assert got.flags.c_contiguous if order == "C" else got.flags.f_contiguous
    # The same through uncompressed counts and into a garbage-filled out=.
    out = np.full(want.shape, 7, dtype=np.uint8, order=order)
    sarle.decode(sarle.decompress(rle), crop=crop, size=size, out=out)
    assert np.array_equal(out, want)


@pytest.mark.parametrize("kind", KINDS)
def test_views_of_structured_masks_in_a_batch(kind):
    masks = np.array([structured_mask(kind, 97, 131, seed=s) for s in range(4)])
    rles = sarle.encode(masks)
    for crop, size in [((10, 5, 100, 80), None), (None, (48, 65)), (None, (200, 262)),
                       ((3, 7, 50, 60), (25, 30)), ((0, 0, 131, 97), (1, 1))]:
        want = np.array([expected_view(m, crop, size) for m in masks])
        for order in ("C", "F"):
            got = sarle.decode(rles, order=order, crop=crop, size=size, threads=2)
            assert np.array_equal(got, want)
            assert got[0].flags.c_contiguous if order == "C" else got[0].flags.f_contiguous


def test_sa1b_sized_mask_at_training_resolutions():
    from strategies import sa1b_like_mask

    mask = sa1b_like_mask(3)
    rle = sarle.encode(mask)
    for size in [(683, 1024), (1024, 1536), (256, 256), (171, 256), (3000, 4500)]:
        assert np.array_equal(sarle.decode(rle, size=size), expected_view(mask, size=size))
    assert np.array_equal(sarle.decode(rle, scale=1024 / 2250), expected_view(mask, size=(682, 1024)))
    crop = (700, 300, 900, 800)
    assert np.array_equal(sarle.decode(rle, crop=crop), expected_view(mask, crop))


def test_matches_torch_interpolate():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for _ in range(40):
        h, w = (int(v) for v in rng.integers(1, 300, 2))
        mask = structured_mask(KINDS[int(rng.integers(len(KINDS)))], h, w, seed=int(rng.integers(1e9)))
        size = tuple(int(v) for v in rng.integers(1, 400, 2))
        want = torch.nn.functional.interpolate(
            torch.from_numpy(mask[None, None].astype(np.float32)), size=size, mode="nearest"
        )[0, 0].numpy() > 0.5
        assert np.array_equal(sarle.decode(sarle.encode(mask), size=size), want)


def test_scale_is_floor_of_size():
    mask = structured_mask("ellipses", 33, 47, seed=1)
    rle = sarle.encode(mask)
    for scale in [0.5, 0.25, 1.0, 2.0, 1 / 3, 0.999]:
        size = (int(np.floor(33 * scale)), int(np.floor(47 * scale)))
        assert np.array_equal(sarle.decode(rle, scale=scale), expected_view(mask, size=size))


def test_bad_views_are_refused():
    rle = sarle.encode(np.eye(6, dtype=bool))
    with pytest.raises(ValueError, match="inside"):
        sarle.decode(rle, crop=(2, 2, 5, 1))
    with pytest.raises(ValueError, match="inside"):
        sarle.decode(rle, crop=(-1, 0, 2, 2))
    with pytest.raises(ValueError, match="crop"):
        sarle.decode(rle, crop=(1, 2, 3))
    with pytest.raises(ValueError, match="whole"):
        sarle.decode(rle, crop=(1.5, 0, 2, 2))
    with pytest.raises(ValueError, match="negative"):
        sarle.decode(rle, size=(-1, 3))
    with pytest.raises(ValueError, match="size or scale"):
        sarle.decode(rle, size=(3, 3), scale=0.5)
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="scale"):
            sarle.decode(rle, scale=bad)
    with pytest.raises(TypeError, match="scale"):
        sarle.decode(rle, scale="2")
    with pytest.raises(ValueError, match="empty"):
        sarle.decode(rle, crop=(1, 1, 0, 3), size=(3, 3))
    with pytest.raises(ValueError, match="out has shape"):
        sarle.decode(rle, size=(3, 3), out=np.zeros((6, 6), bool))
    bad = {"size": [6, 6], "counts": "5"}
    with pytest.raises(ValueError, match=r"mask 1: counts: run lengths sum to 5"):
        sarle.decode([rle, bad], size=(3, 3))


def paint_reference(masks, paint="index"):
    labels = np.zeros(masks.shape[1:], dtype=np.int32)
    order = range(len(masks))
    if paint == "area":
        order = sorted(order, key=lambda i: -int(masks[i].sum()))
    for i in order:
        labels[masks[i]] = i + 1
    return labels


@given(st.lists(sized_runs(max_side=24, max_runs=30), min_size=1, max_size=6),
       st.sampled_from(["index", "area"]), st.sampled_from(["C", "F"]))
def test_label_map_equals_painting(groups, paint, order):
    h, w, _ = groups[0]
    masks = np.array([ref.mask_from_runs(r, h, w) for hh, ww, r in groups if (hh, ww) == (h, w)])
    rles = sarle.encode(masks)
    got = sarle.label_map(rles, paint=paint, order=order)
    assert got.dtype == np.int32
    assert got.flags.c_contiguous if order == "C" else got.flags.f_contiguous
    assert np.array_equal(got, paint_reference(masks, paint))


def test_label_map_views_and_out():
    masks = np.array([structured_mask(k, 60, 90, seed=i) for i, k in enumerate(KINDS)])
    rles = sarle.encode(masks)
    full = paint_reference(masks)
    rows, cols = torch_nearest(60, 30), torch_nearest(90, 45)
    assert np.array_equal(sarle.label_map(rles, size=(30, 45)), full[rows][:, cols])
    assert np.array_equal(sarle.label_map(rles, crop=(10, 5, 40, 30)), full[5:35, 10:50])
    out = np.full((60, 90), 99, dtype=np.int32, order="F")
    assert sarle.label_map(rles, out=out) is out and np.array_equal(out, full)
    with pytest.raises(TypeError, match="int32"):
        sarle.label_map(rles, out=np.zeros((60, 90), np.int64))
    with pytest.raises(ValueError, match="at least one"):
        sarle.label_map([])
    with pytest.raises(ValueError, match="paint"):
        sarle.label_map(rles, paint="size")
    bad = list(rles)
    bad[3] = {"size": [60, 90], "counts": "0"}
    for paint in ("index", "area"):
        with pytest.raises(ValueError, match="mask 3"):
            sarle.label_map(bad, paint=paint)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32])
@pytest.mark.parametrize("order", ["C", "F"])
def test_label_map_dtypes(dtype, order):
    masks = np.array([structured_mask(KINDS[i % len(KINDS)], 41, 67, seed=i) for i in range(12)])
    rles = sarle.encode(masks)
    got = sarle.label_map(rles, dtype=dtype, order=order, paint="area")
    assert got.dtype == dtype
    assert got.flags.c_contiguous if order == "C" else got.flags.f_contiguous
    assert np.array_equal(got, paint_reference(masks, "area"))
    out = np.full((41, 67), 3, dtype=dtype, order=order)
    assert sarle.label_map(rles, dtype=dtype, out=out) is out
    assert np.array_equal(out, paint_reference(masks))


def test_label_map_dtype_limits():
    rle = sarle.encode(np.eye(3, dtype=bool))
    labels = sarle.label_map([rle] * 255, dtype=np.uint8)
    assert labels.max() == 255
    with pytest.raises(ValueError, match="256 masks do not fit in uint8"):
        sarle.label_map([rle] * 256, dtype=np.uint8)
    many = sarle.label_map([rle] * 300, dtype=np.uint16)
    assert many.max() == 300
    with pytest.raises(TypeError, match="dtype"):
        sarle.label_map([rle], dtype=np.float32)
    with pytest.raises(TypeError, match="uint8"):
        sarle.label_map([rle], dtype=np.uint8, out=np.zeros((3, 3), np.int32))
