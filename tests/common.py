"""The one round-trip helper shared by the test modules.

``check_roundtrip(mask)`` takes a 2-D mask (non-zero = foreground) and checks
everything sarle can do with it against an oracle:

* ``encode`` of the mask as bool and as several integer dtypes (with
  foreground values whose low bytes are zero, e.g. 256 or 2**32), in C order,
  F order, a strided slice of a bigger array, a transposed view and a view
  with negative strides, gives pycocotools' string (the reference codec's
  when pycocotools is not installed), and leaves the mask untouched;
* ``decode`` of that RLE, with counts as str, bytes, a list or an ndarray of
  runs and size as list, tuple or ndarray (uint64 like TFDS), in order C and
  F, and into ``out=`` arrays (bool/uint8, C/F) pre-filled with garbage;
* ``area``, ``bbox``, ``compress``, ``decompress``;
* the batch forms: 3-D ``encode``, ``decode`` of a list of dicts and of a
  TFDS batch dict (bytes counts in an object array, uint64 ``(n, 2)`` size),
  in order C and F and into ``out=``; batch ``area`` and ``bbox``.
"""

from __future__ import annotations

import warnings

import numpy as np

import reference as ref
import sarle

try:
    from pycocotools import mask as coco_mask
except ImportError:  # the reference codec is the oracle then
    coco_mask = None

__all__ = ["assert_equal", "check_roundtrip", "coco_decode", "coco_mask", "expected_string", "layouts",
           "dtype_variants"]

# (dtype, foreground value) pairs that catch a kernel reading only the low
# byte(s) (256, 2**32, 2**63), or only the first byte (big-endian 1).
_FOREGROUND = [
    (np.dtype(np.bool_), True),
    (np.dtype(np.uint8), 255),
    (np.dtype(np.int8), -1),
    (np.dtype(np.uint16), 256),
    (np.dtype(np.int16), -32768),
    (np.dtype(np.int32), 7),
    (np.dtype(np.uint32), 2**31),
    (np.dtype(np.int64), 2**32),
    (np.dtype(np.uint64), 2**63),
    (np.dtype(">u2"), 1),
    (np.dtype(">i8"), 1),
]


def expected_string(mask: np.ndarray) -> str:
    """COCO string of ``mask != 0``: pycocotools' when usable, else the reference's."""
    m = np.asarray(mask) != 0
    if coco_mask is not None and m.size < 2**32:
        rle = coco_mask.encode(np.asfortranarray(m.astype(np.uint8)))
        return rle["counts"].decode("ascii")
    return ref.string_from_runs(ref.runs_from_mask(m))


def assert_equal(got, want, msg: str = "") -> None:
    """Fast exact array comparison (np.testing's message only on failure)."""
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape or not np.array_equal(got, want):
        np.testing.assert_array_equal(got, want, err_msg=msg)


def coco_decode(rles) -> np.ndarray:
    """pycocotools.mask.decode, minus its numpy-2 DeprecationWarning (``__array__`` copy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return coco_mask.decode(rles)


def dtype_variants(m: np.ndarray) -> list[np.ndarray]:
    """``m`` (bool) as each dtype, with 0 background and an odd foreground value.

    Also a bool array whose true bytes are 2..255 rather than 1 (a uint8 view).
    """
    out = []
    for dt, value in _FOREGROUND:
        a = np.zeros(m.shape, dtype=dt)
        a[m] = value
        out.append(a)
    odd = np.zeros(m.shape, dtype=np.uint8)
    odd[m] = np.arange(2, 2 + m.sum()) % 254 + 2
    out.append(odd.view(np.bool_))
    return out


def layouts(a: np.ndarray) -> dict[str, np.ndarray]:
    """The same 2-D values in several memory layouts."""
    h, w = a.shape
    big = np.zeros((2 * h + 1, 3 * w + 2), dtype=a.dtype)
    big[1::2, 2::3] = a
    flipped = np.ascontiguousarray(a[::-1, ::-1])
    views = {
        "C": np.ascontiguousarray(a),
        "F": np.asfortranarray(a),
        "strided": big[1::2, 2::3],
        "transposed": np.ascontiguousarray(a.T).T,
        "negative": flipped[::-1, ::-1],
    }
    for name, v in views.items():
        assert np.array_equal(v, a), name
    return views


def _check_decoded(got, m: np.ndarray, order: str = "C") -> None:
    assert isinstance(got, np.ndarray)
    assert got.dtype == np.bool_, got.dtype
    assert got.shape == m.shape, (got.shape, m.shape)
    if order == "C":
        assert got.flags.c_contiguous
    else:
        assert got.flags.f_contiguous
    assert_equal(got, m)


def _check_bbox(got, expected) -> None:
    got = np.asarray(got)
    assert got.dtype == np.float64 and got.shape == (4,), (got.dtype, got.shape)
    assert_equal(got, np.asarray(expected, dtype=np.float64))


def check_roundtrip(mask, *, thorough: bool | None = None) -> dict:
    """Check encode/decode/area/bbox/compress/decompress of one mask; return its RLE.

    ``thorough`` (default: masks of up to 4096 pixels) tries every dtype in
    every layout; otherwise every dtype in C order and every layout for bool
    and uint8 only.
    """
    m = np.asarray(mask) != 0
    assert m.ndim == 2
    h, w = m.shape
    if thorough is None:
        thorough = m.size <= 4096
    counts = expected_string(m)
    runs = ref.runs_from_mask(m)
    expected = {"size": [h, w], "counts": counts}

    # ---- encode, every dtype and layout -------------------------------------
    def variants():
        for i, a in enumerate(dtype_variants(m)):
            if thorough or i in (0, 1):  # bool and uint8: every layout
                for name, v in layouts(a).items():
                    yield f"{a.dtype}/{name}", v
            else:
                yield f"{a.dtype}/C", a

    for label, v in variants():
        before = v.copy()
        rle = sarle.encode(v)
        assert isinstance(rle, dict), label
        assert isinstance(rle["counts"], str), (label, type(rle["counts"]))
        assert rle["size"] == [h, w], (label, rle["size"])
        assert all(type(s) is int for s in rle["size"]), (label, rle["size"])
        assert rle["counts"] == counts, (label, rle["counts"], counts)
        assert_equal(v, before, f"encode modified its input ({label})")

    # ---- decode, every input form, order C and F ---------------------------
    forms = {
        "str": {"size": [h, w], "counts": counts},
        "bytes": {"size": [h, w], "counts": counts.encode("ascii")},
        "list": {"size": [h, w], "counts": list(runs)},
        "uint64 runs": {"size": (h, w), "counts": np.array(runs, dtype=np.uint64)},
        "int64 runs": {"size": [h, w], "counts": np.array(runs, dtype=np.int64)},
        "uint64 size": {"size": np.array([h, w], dtype=np.uint64), "counts": counts.encode()},
        "int32 size": {"size": np.array([h, w], dtype=np.int32), "counts": counts},
    }
    for label, rle in forms.items():
        _check_decoded(sarle.decode(rle), m)
        assert sarle.area(rle) == int(m.sum()), label
    for label in ("str", "list"):
        _check_decoded(sarle.decode(forms[label], order="C"), m, "C")
        _check_decoded(sarle.decode(forms[label], order="F"), m, "F")

    # ---- decode into out=, pre-filled with garbage --------------------------
    for dt, garbage in ((np.bool_, True), (np.uint8, 7)):
        for order in ("C", "F"):
            out = np.full((h, w), garbage, dtype=dt, order=order)
            got = sarle.decode(expected, out=out)
            assert got is out, (dt, order)
            assert_equal(out, m.astype(dt), f"out={dt.__name__}/{order}")
            if dt is np.bool_ and h * w:
                out[:] = False  # a second decode into the same buffer
                sarle.decode(expected, out=out)
                assert_equal(out, m)

    # ---- area, bbox, compress, decompress ---------------------------------
    area = sarle.area(expected)
    assert type(area) is int, type(area)
    assert area == int(m.sum())
    _check_bbox(sarle.bbox(expected), ref.bbox_from_mask(m))
    _check_bbox(sarle.bbox(forms["list"]), ref.bbox_from_mask(m))
    dec = sarle.decompress(expected)
    assert dec["size"] == [h, w]
    assert list(dec["counts"]) == runs
    assert all(type(c) is int for c in dec["counts"])
    for rle in (dec, forms["bytes"], forms["uint64 runs"]):
        comp = sarle.compress(rle)
        assert comp["size"] == [h, w]
        assert comp["counts"] == counts

    _check_batches(m, counts)
    return expected


def _check_batches(m: np.ndarray, counts: str) -> None:
    h, w = m.shape
    stack = np.stack([m, ~m, m, np.zeros_like(m)])
    n = len(stack)
    strings = [expected_string(x) for x in stack]
    rles = [{"size": [h, w], "counts": s} for s in strings]

    # 3-D encode: C-ordered (n, h, w), and pycocotools' (h, w, n) F array seen as (n, h, w).
    c_stack = np.ascontiguousarray(stack.astype(np.uint8))
    f_stack = np.asfortranarray(stack.transpose(1, 2, 0)).transpose(2, 0, 1)
    big = np.zeros((2 * n, 2 * h + 1, 3 * w), dtype=np.int32)
    big[::2, 1::2, ::3] = stack
    strided = big[::2, 1::2, ::3]
    flipped = np.ascontiguousarray(stack[::-1, ::-1, ::-1])[::-1, ::-1, ::-1]
    for a in (stack, c_stack, f_stack, strided, flipped):
        got = sarle.encode(a)
        assert isinstance(got, list) and len(got) == n
        assert [g["counts"] for g in got] == strings
        assert all(g["size"] == [h, w] for g in got)

    stack_boxes = np.array([ref.bbox_from_mask(x) for x in stack], dtype=np.float64)
    tfds = {
        "counts": np.array([s.encode("ascii") for s in strings], dtype=object),
        "size": np.array([[h, w]] * n, dtype=np.uint64),
    }
    tfds_str = {"counts": list(strings), "size": np.array([[h, w]] * n, dtype=np.int64)}
    for batch in (rles, tuple(rles), tfds, tfds_str):
        got = sarle.decode(batch)
        assert got.shape == (n, h, w) and got.dtype == np.bool_
        assert got.flags.c_contiguous
        assert_equal(got, stack)

        got = sarle.decode(batch, order="F")
        assert got.shape == (n, h, w) and got.dtype == np.bool_
        assert got.transpose(1, 2, 0).flags.f_contiguous  # pycocotools' (h, w, n) layout
        assert all(g.flags.f_contiguous for g in got)
        assert_equal(got, stack)

        areas = sarle.area(batch)
        assert isinstance(areas, np.ndarray) and areas.dtype == np.uint64 and areas.shape == (n,)
        assert_equal(areas, stack.sum(axis=(1, 2)))

        boxes = sarle.bbox(batch)
        assert isinstance(boxes, np.ndarray) and boxes.dtype == np.float64 and boxes.shape == (n, 4)
        assert_equal(boxes, stack_boxes)

    # Batch decode into out=: C (n, h, w) and the F-batch layout.
    outs = [
        np.full((n, h, w), True),
        np.full((n, h, w), 7, dtype=np.uint8),
        np.full((h, w, n), True, order="F").transpose(2, 0, 1),
        np.full((h, w, n), 7, dtype=np.uint8, order="F").transpose(2, 0, 1),
    ]
    for out in outs:
        got = sarle.decode(rles, out=out)
        assert got is out
        assert_equal(out, stack.astype(out.dtype))
    got = sarle.decode(tfds, out=np.full((n, h, w), True))
    assert_equal(got, stack)
