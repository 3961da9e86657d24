"""Malformed input: every bad argument raises ValueError or TypeError saying what and where.

pycocotools reads past the end of truncated strings, accepts characters outside
the alphabet, returns uninitialised memory when runs sum to less than h*w and
shifts every later mask of a batch (NOTES.md). sarle must refuse all of these
with a message that names the problem, the character position in a counts
string, and the index of the bad mask in a batch ("mask 2: ...").

Each malformed RLE is fed to every entry point: ``decode`` (one RLE, a list, a
TFDS batch dict), ``area``, ``bbox``, ``merge``, ``iou``, ``compress`` and
``decompress``. In the batch forms the bad RLE is always the third one, so the
message must say "mask 2".
"""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sarle

BAD = (ValueError, TypeError)


def kw(*patterns: str) -> str:
    """A ``match=`` regex that requires every pattern somewhere in the message, any order."""
    return "(?s)^" + "".join(f"(?=.*(?:{p}))" for p in patterns)


def encode_values(values: list[int]) -> str:
    """Write the signed values of a COCO string (no validation: used to forge bad input)."""
    out = []
    for x in values:
        while True:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            out.append(chr(48 + (c | 0x20 if more else c)))
            if not more:
                break
    return "".join(out)


def encode_runs(runs: list[int]) -> str:
    return encode_values([r - runs[i - 2] if i > 2 else r for i, r in enumerate(runs)])


def filler(size) -> dict:
    """A valid all-background RLE of ``size`` (or of the good 2x3 size if ``size`` is bad)."""
    try:
        h, w = (int(v) for v in size)
        assert h >= 0 and w >= 0 and h * w < 1 << 40 and list(size) == [h, w]
    except Exception:
        h, w = 2, 3
    return {"size": [h, w], "counts": encode_runs([h * w])}


GOOD = {"size": [2, 3], "counts": "123"}  # runs 1, 2, 3 (column-major)
GOOD_MASK = np.array([[0, 1, 0], [1, 0, 0]], dtype=bool)


def test_helpers():
    assert encode_runs([1, 2, 3]) == "123"
    assert encode_runs([5, 20, 7]) == "5d07"  # pycocotools: 20 needs two groups (sign bit)
    assert encode_runs([1, 2, 3, 2**19 + 3, 5]) == "123QPP`02"  # pycocotools 2.0.11
    assert encode_values([-2]) == "N" and encode_values([-1]) == "O"
    assert sarle.decode(GOOD).tolist() == GOOD_MASK.tolist()


# ---------------------------------------------------------------------------------------------
# The malformed RLEs. Each case: size, counts, exception, message patterns.

STRING_CASES = [
    # run lengths that do not add up to h*w
    pytest.param([2, 3], "23", ValueError, [r"sum", r"\b5\b", r"\b6\b"], id="sum-less"),
    pytest.param([2, 3], "2", ValueError, [r"sum", r"\b2\b", r"\b6\b"], id="sum-less-one-run"),
    pytest.param([2, 3], "25", ValueError, [r"exceed|sum", r"\b6\b", r"position 1\b"], id="sum-more"),
    pytest.param([2, 3], "7", ValueError, [r"exceed|sum", r"\b6\b", r"position 0\b"], id="one-run-too-long"),
    pytest.param([2, 3], "1236", ValueError, [r"exceed|sum", r"position 3\b"], id="sum-more-by-delta"),
    pytest.param([0, 5], "1", ValueError, [r"exceed|sum", r"position 0\b"], id="run-in-0x5"),
    pytest.param([2, 3], encode_values([2**62, 2**62, 2**62, 6]), ValueError,
                 [r"exceed|sum|64"], id="sum-wraps-64-bits"),
    # empty string for a non-empty mask
    pytest.param([2, 3], "", ValueError, [r"empty"], id="empty"),
    pytest.param([1, 1], "", ValueError, [r"empty"], id="empty-1x1"),
    # string ends inside a 5-bit group (last character has bit 0x20)
    pytest.param([2, 3], "12P", ValueError, [r"5-bit group|ends inside|truncat", r"position 2\b"],
                 id="truncated-P"),
    pytest.param([2, 3], "123o", ValueError, [r"5-bit group|ends inside|truncat", r"position 3\b"],
                 id="truncated-after-valid"),
    pytest.param([2, 3], "1oo", ValueError, [r"5-bit group|ends inside|truncat", r"position 1\b"],
                 id="truncated-long-group"),
    pytest.param([1, 1], "`", ValueError, [r"5-bit group|ends inside|truncat", r"position 0\b"],
                 id="truncated-only-char"),
    pytest.param([0, 5], "P", ValueError, [r"5-bit group|ends inside|truncat", r"position 0\b"],
                 id="truncated-in-0x5"),
    # characters outside '0'..'o'
    *[pytest.param([2, 3], "123" + ch, ValueError, [r"character", r"position 3\b"], id=f"char-{name}")
      for ch, name in [("p", "p"), ("/", "slash"), (" ", "space"), ("\x00", "nul"), ("~", "tilde"),
                       ("\x7f", "del"), ("\n", "newline"), ("é", "e-acute")]],
    pytest.param([2, 3], "1p23", ValueError, [r"character", r"position 1\b"], id="char-p-inside"),
    pytest.param([2, 3], "1\x0023", ValueError, [r"character", r"position 1\b"], id="char-nul-inside"),
    pytest.param([2, 3], "\x00", ValueError, [r"character", r"position 0\b"], id="char-nul-only"),
    pytest.param([0, 5], "\x00", ValueError, [r"character", r"position 0\b"], id="char-nul-in-0x5"),
    pytest.param([2, 3], "é", ValueError, [r"character", r"position 0\b"], id="char-non-ascii-first"),
    pytest.param([2, 3], "12/\\", ValueError, [r"character", r"position 2\b"], id="char-before-backslash"),
    # the first bad character is the one named, whether or not a later one is non-ASCII
    pytest.param([2, 3], "1p2é", ValueError, [r"character 'p'", r"position 1\b"], id="char-p-then-non-ascii"),
    # a delta (or raw value) that makes a run negative
    pytest.param([2, 3], encode_values([1, 1, 1, -2]), ValueError, [r"negative", r"position 3\b"],
                 id="negative-delta"),
    pytest.param([2, 3], encode_values([1, 1, 1, -1000, 1]), ValueError, [r"negative", r"position 3\b"],
                 id="negative-delta-long-group"),
    pytest.param([2, 3], encode_values([1, -1]), ValueError, [r"negative", r"position 1\b"],
                 id="negative-raw"),
    pytest.param([2, 3], encode_values([-5]), ValueError, [r"negative", r"position 0\b"],
                 id="negative-first"),
    # values that do not fit in 64 bits
    pytest.param([2, 3], "1" + "o" * 20 + "0", ValueError, [r"64", r"position 1\b"], id="overflow-ones"),
    pytest.param([2, 3], "1" + "P" * 20 + "1", ValueError, [r"64", r"position 1\b"], id="overflow-high-bit"),
    pytest.param([2, 3], "1" + encode_values([2**63]), ValueError, [r"64", r"position 1\b"],
                 id="overflow-2**63"),
    pytest.param([2, 3], "12" + encode_values([2**64 + 1]), ValueError, [r"64", r"position 2\b"],
                 id="overflow-2**64+1"),
]

RUN_CASES = [
    pytest.param([2, 3], [2, 3], ValueError, [r"sum", r"\b5\b", r"\b6\b"], id="sum-less"),
    pytest.param([2, 3], np.array([2, 3], dtype=np.uint32), ValueError, [r"sum", r"\b5\b", r"\b6\b"],
                 id="sum-less-uint32"),
    pytest.param([2, 3], [4, 3], ValueError, [r"exceed|sum", r"\b6\b"], id="sum-more"),
    pytest.param([2, 3], [1, 2, 3, 0, 1], ValueError, [r"exceed|sum", r"\b6\b"], id="sum-more-after-zero"),
    pytest.param([2, 3], [], ValueError, [r"empty|sum"], id="empty"),
    pytest.param([2, 3], [3, -1, 4], ValueError, [r"negative"], id="negative"),
    pytest.param([2, 3], np.array([3, -1, 4]), ValueError, [r"negative"], id="negative-ndarray"),
    pytest.param([2, 3], [-6, 12], ValueError, [r"negative"], id="negative-first"),
    pytest.param([2, 3], [2**63, 2**63, 6], ValueError, [], id="sum-wraps-python-int"),
    pytest.param([2, 3], np.array([2**63, 2**63, 6], dtype=np.uint64), ValueError, [],
                 id="sum-wraps-uint64"),
    pytest.param([2, 3], np.array([2**62] * 4 + [6], dtype=np.int64), ValueError, [r"exceed|sum"],
                 id="sum-wraps-int64"),
    pytest.param([2, 3], [2**64, 6], ValueError, [], id="run-beyond-uint64"),
    pytest.param([2, 3], [-(2**63) - 1, 6], ValueError, [], id="run-below-int64"),
]

# size cases: counts chosen so that only the size is wrong (or so that h*w wraps to a match)
SIZE_CASES = [
    pytest.param([-1, 3], "", ValueError, [r"size"], id="negative"),
    pytest.param([-2, -3], "6", ValueError, [r"size"], id="both-negative-product-ok"),
    pytest.param([-2, -3], [6], ValueError, [r"size"], id="both-negative-runs"),
    pytest.param(np.array([-2, -3]), "6", ValueError, [r"size"], id="negative-ndarray"),
    pytest.param([2.5, 4], "A", BAD, [r"size"], id="fractional"),
    pytest.param([2.5, 2.4], "6", BAD, [r"size"], id="fractional-product-6"),
    pytest.param(np.array([2.5, 4.0]), "A", BAD, [r"size"], id="fractional-ndarray"),
    pytest.param([3], "3", BAD, [r"size"], id="length-1"),
    pytest.param([1, 2, 3], "6", BAD, [r"size"], id="length-3"),
    pytest.param([], "", BAD, [r"size"], id="length-0"),
    pytest.param(np.array([[2, 3]]), "6", BAD, [r"size"], id="2-D-array"),
    pytest.param(None, "6", TypeError, [r"size"], id="None"),
    pytest.param("23", "6", TypeError, [r"size"], id="str"),
    pytest.param("2x3", "6", TypeError, [r"size"], id="str-2x3"),
    pytest.param(b"23", "6", TypeError, [r"size"], id="bytes"),
    pytest.param(6, "6", TypeError, [r"size"], id="int"),
    pytest.param([2, None], "6", TypeError, [r"size"], id="None-element"),
    pytest.param([2, "3"], "6", TypeError, [r"size"], id="str-element"),
    pytest.param({"h": 2, "w": 3}, "6", TypeError, [r"size"], id="dict"),
    # h*w > 2**62
    pytest.param([2**31, 2**31 + 1], [2**62 + 2**31], ValueError, [r"size|2\*\*62|large"],
                 id="area-over-2**62"),
    pytest.param([2**32, 2**32], "", ValueError, [r"size|2\*\*62|large"], id="area-wraps-to-0"),
    pytest.param([2**32 + 1, 2**32 - 1], "0", ValueError, [r"size|2\*\*62|large"],
                 id="area-wraps-to-minus-1"),
    pytest.param(np.array([2**63, 2], dtype=np.uint64), b"", ValueError, [r"size|2\*\*62|large"],
                 id="uint64-wraps-to-0"),
    pytest.param([2**64, 1], "", BAD, [r"size|2\*\*62|large"], id="beyond-uint64"),
    pytest.param([2**64 + 6, 1], "6", BAD, [r"size|2\*\*62|large"], id="beyond-uint64-mod-6"),
]

COUNTS_TYPE_CASES = [
    pytest.param(6, TypeError, id="int"),
    pytest.param(6.0, TypeError, id="float"),
    pytest.param(None, TypeError, id="None"),
    pytest.param({"runs": [6]}, TypeError, id="dict"),
    pytest.param(["1", "2", "3"], TypeError, id="list-of-str"),
    pytest.param([b"123"], TypeError, id="list-of-bytes"),
    pytest.param(np.array([[1, 2], [3, 0]]), BAD, id="2-D-array"),
    pytest.param([[1, 2], [3]], BAD, id="ragged-list"),
    pytest.param([1.5, 4.5], BAD, id="float-list-fractions"),
    pytest.param(np.array([1.5, 4.5]), BAD, id="float-array-fractions"),
    pytest.param([1, None, 5], TypeError, id="None-in-list"),
    pytest.param([True, 5], TypeError, id="bool-in-list"),  # sums to 6 if taken as 1
    pytest.param(np.array([True, False]), TypeError, id="bool-array"),
    pytest.param(np.array(["1", "2", "3"]), TypeError, id="str-array"),
    pytest.param(np.array([1 + 0j, 5 + 0j]), TypeError, id="complex-array"),
]

NOT_RLE_CASES = [
    pytest.param({"counts": "123"}, BAD, [r"size"], id="no-size"),
    pytest.param({"size": [2, 3]}, BAD, [r"counts"], id="no-counts"),
    pytest.param({}, BAD, [r"size|counts"], id="empty-dict"),
    pytest.param({"Size": [2, 3], "Counts": "123"}, BAD, [r"size|counts"], id="wrong-key-case"),
    pytest.param(5, TypeError, [], id="int"),
    pytest.param(2.5, TypeError, [], id="float"),
    pytest.param(None, TypeError, [], id="None"),
    pytest.param("123", TypeError, [], id="str"),
    pytest.param(b"123", TypeError, [], id="bytes"),
    pytest.param(np.zeros((2, 3), bool), TypeError, [], id="ndarray"),
]


# ---------------------------------------------------------------------------------------------
# Entry points. Single: the bad RLE alone. Batch: the bad RLE at index 2 after two good ones.

SINGLE = {
    "decode": lambda r: sarle.decode(r),
    "decode-F": lambda r: sarle.decode(r, order="F"),
    "area": lambda r: sarle.area(r),
    "bbox": lambda r: sarle.bbox(r),
    "compress": lambda r: sarle.compress(r),
    "decompress": lambda r: sarle.decompress(r),
    "merge-one": lambda r: sarle.merge([r]),
    "merge-one-intersect": lambda r: sarle.merge([r], intersect=True),
    "iou-one": lambda r: sarle.iou([r], [r]),
}

BATCH = {
    "decode-list": lambda f, r: sarle.decode([f, f, r]),
    "decode-tuple-F": lambda f, r: sarle.decode((f, f, r), order="F"),
    "area-list": lambda f, r: sarle.area([f, f, r]),
    "bbox-list": lambda f, r: sarle.bbox([f, f, r]),
    "merge": lambda f, r: sarle.merge([f, f, r]),
    "merge-intersect": lambda f, r: sarle.merge([f, f, r], intersect=True),
    "iou-dt": lambda f, r: sarle.iou([f, f, r], [f]),
    "iou-gt": lambda f, r: sarle.iou([f], [f, f, r]),
    "iou-gt-crowd": lambda f, r: sarle.iou([f], [f, f, r], iscrowd=[0, 1, 1]),
}


def tfds(rles: list[dict]) -> dict:
    """A TFDS batch dict: bytes counts in an object array, uint64 (n, 2) size."""
    return {"counts": np.array([r["counts"] if isinstance(r["counts"], bytes)
                                else r["counts"].encode("utf-8") for r in rles], dtype=object),
            "size": np.array([r["size"] for r in rles], dtype=np.uint64)}


TFDS = {
    "decode-tfds": lambda b: sarle.decode(b),
    "decode-tfds-F": lambda b: sarle.decode(b, order="F"),
    "area-tfds": lambda b: sarle.area(b),
    "bbox-tfds": lambda b: sarle.bbox(b),
}


def _as(counts, kind):
    if kind == "bytes" and isinstance(counts, str):
        return counts.encode("utf-8")
    return counts


@pytest.mark.parametrize("kind", ["str", "bytes"])
@pytest.mark.parametrize("size, counts, exc, patterns", STRING_CASES)
@pytest.mark.parametrize("call", SINGLE.values(), ids=list(SINGLE))
def test_bad_string(call, size, counts, exc, patterns, kind):
    with pytest.raises(exc, match=kw(*patterns)):
        call({"size": size, "counts": _as(counts, kind)})


@pytest.mark.parametrize("size, counts, exc, patterns", STRING_CASES)
@pytest.mark.parametrize("call", BATCH.values(), ids=list(BATCH))
def test_bad_string_in_batch(call, size, counts, exc, patterns):
    with pytest.raises(exc, match=kw(r"mask 2\b", *patterns)):
        call(filler(size), {"size": size, "counts": counts})


@pytest.mark.parametrize("size, counts, exc, patterns", STRING_CASES)
@pytest.mark.parametrize("call", TFDS.values(), ids=list(TFDS))
def test_bad_string_in_tfds_batch(call, size, counts, exc, patterns):
    good = filler(size)
    batch = tfds([good, good, {"size": size, "counts": counts}])
    with pytest.raises(exc, match=kw(r"mask 2\b", *patterns)):
        call(batch)


@pytest.mark.parametrize("size, counts, exc, patterns", RUN_CASES)
@pytest.mark.parametrize("call", SINGLE.values(), ids=list(SINGLE))
def test_bad_runs(call, size, counts, exc, patterns):
    with pytest.raises(exc, match=kw(*patterns)):
        call({"size": size, "counts": counts})


@pytest.mark.parametrize("size, counts, exc, patterns", RUN_CASES)
@pytest.mark.parametrize("call", BATCH.values(), ids=list(BATCH))
def test_bad_runs_in_batch(call, size, counts, exc, patterns):
    with pytest.raises(exc, match=kw(r"mask 2\b", *patterns)):
        call(filler(size), {"size": size, "counts": counts})


@pytest.mark.parametrize("size, counts, exc, patterns", SIZE_CASES)
@pytest.mark.parametrize("call", SINGLE.values(), ids=list(SINGLE))
def test_bad_size(call, size, counts, exc, patterns):
    with pytest.raises(exc, match=kw(*patterns)):
        call({"size": size, "counts": counts})


@pytest.mark.parametrize("size, counts, exc, patterns", SIZE_CASES)
@pytest.mark.parametrize("call", BATCH.values(), ids=list(BATCH))
def test_bad_size_in_batch(call, size, counts, exc, patterns):
    with pytest.raises(exc, match=kw(r"mask 2\b", *patterns)):
        call(GOOD, {"size": size, "counts": counts})


@pytest.mark.parametrize("counts, exc", COUNTS_TYPE_CASES)
@pytest.mark.parametrize("call", SINGLE.values(), ids=list(SINGLE))
def test_bad_counts_type(call, counts, exc):
    with pytest.raises(exc, match=kw(r"counts")):
        call({"size": [2, 3], "counts": counts})


@pytest.mark.parametrize("counts, exc", COUNTS_TYPE_CASES)
@pytest.mark.parametrize("call", BATCH.values(), ids=list(BATCH))
def test_bad_counts_type_in_batch(call, counts, exc):
    with pytest.raises(exc, match=kw(r"mask 2\b", r"counts")):
        call(GOOD, {"size": [2, 3], "counts": counts})


@pytest.mark.parametrize("rle, exc, patterns", NOT_RLE_CASES)
@pytest.mark.parametrize("call", SINGLE.values(), ids=list(SINGLE))
def test_not_an_rle(call, rle, exc, patterns):
    with pytest.raises(exc, match=kw(*patterns)):
        call(rle)


@pytest.mark.parametrize("rle, exc, patterns", NOT_RLE_CASES)
@pytest.mark.parametrize("call", BATCH.values(), ids=list(BATCH))
def test_not_an_rle_in_batch(call, rle, exc, patterns):
    with pytest.raises(exc, match=kw(r"mask 2\b", *patterns)):
        call(GOOD, rle)


# ---------------------------------------------------------------------------------------------
# Valid edge cases next to the invalid ones (so the checks above are not too eager).


@pytest.mark.parametrize("counts", ["", b"", "0", b"0", [], [0]], ids=repr)
@pytest.mark.parametrize("size", [[0, 5], [5, 0], [0, 0]], ids=str)
def test_zero_size_mask_is_valid(size, counts):
    rle = {"size": size, "counts": counts}
    m = sarle.decode(rle)
    assert m.shape == tuple(size) and m.dtype == np.bool_
    assert sarle.area(rle) == 0
    assert sarle.bbox(rle).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert sarle.decode(sarle.compress(rle)).shape == tuple(size)
    assert sum(sarle.decompress(rle)["counts"]) == 0


def test_valid_forms_of_the_good_rle():
    for size in ([2, 3], (2, 3), np.array([2, 3], np.uint64), np.array([2, 3], np.int32)):
        for counts in ("123", b"123", [1, 2, 3], np.array([1, 2, 3], np.uint32)):
            np.testing.assert_array_equal(sarle.decode({"size": size, "counts": counts}), GOOD_MASK)


def test_area_exactly_2_to_62_is_valid():
    h = w = 2**31
    for counts in ([2**62], encode_runs([2**62])):
        rle = {"size": [h, w], "counts": counts}
        assert sarle.area(rle) == 0
        assert sarle.bbox(rle).tolist() == [0.0, 0.0, 0.0, 0.0]
    for counts in ([2**62 - 5, 5], encode_runs([2**62 - 5, 5])):
        rle = {"size": [h, w], "counts": counts}
        assert sarle.area(rle) == 5
        assert sarle.bbox(rle).tolist() == [w - 1, h - 5, 1, 5]


def test_empty_batch_decodes_to_0x0x0():
    assert sarle.decode([]).shape == (0, 0, 0)


# ---------------------------------------------------------------------------------------------
# encode


@pytest.mark.parametrize("mask", [np.array(True), np.zeros(5, bool), np.zeros((1, 1, 2, 2), bool),
                                  np.zeros((2, 2, 2, 2, 2), np.uint8)],
                         ids=["ndim-0", "ndim-1", "ndim-4", "ndim-5"])
def test_encode_bad_ndim(mask):
    with pytest.raises(ValueError, match=r"(?i)dim|2-d|3-d|shape"):
        sarle.encode(mask)


@pytest.mark.parametrize("mask", [
    np.zeros((2, 2), dtype=object),
    np.array([[True, False]], dtype=object),
    np.array([["a", "b"]]),
    np.array([[b"a", b"b"]]),
    np.zeros((2, 2), dtype=np.float64),
    np.zeros((2, 2), dtype=np.float32),
    np.zeros((2, 2), dtype=np.float16),
    np.zeros((2, 2), dtype=np.complex128),
    np.zeros((2, 2), dtype="datetime64[s]"),
    np.zeros((2, 2, 2), dtype=np.float64),
], ids=["object", "object-bools", "str", "bytes", "float64", "float32", "float16", "complex",
        "datetime", "float-3-D"])
def test_encode_bad_dtype(mask):
    # only bool and integer masks: a float mask is usually a probability map, and
    # silently calling every non-zero probability foreground would be wrong
    with pytest.raises(TypeError, match=r"(?i)dtype|bool|integer"):
        sarle.encode(mask)


@pytest.mark.parametrize("mask", [None, "abc", 5, [[0, 1], [1, 0]]], ids=["None", "str", "int", "list"])
def test_encode_not_an_array(mask):
    if isinstance(mask, list):
        # a nested list is array-like; accepting it is fine, but then it must be right
        try:
            got = sarle.encode(mask)
        except TypeError:
            return
        assert got == sarle.encode(np.array(mask, dtype=bool))
        return
    with pytest.raises(BAD):  # a 0-D object array once converted: either error is clear
        sarle.encode(mask)


# ---------------------------------------------------------------------------------------------
# decode(out=...) and order


@pytest.mark.parametrize("out, exc, pattern", [
    (np.zeros((3, 2), bool), ValueError, r"shape"),
    (np.zeros((6,), bool), ValueError, r"shape"),
    (np.zeros((1, 2, 3), bool), ValueError, r"shape"),
    (np.zeros((2, 4), bool), ValueError, r"shape"),
    (np.zeros((2, 3), np.int32), BAD, r"dtype|bool|uint8"),
    (np.zeros((2, 3), np.int8), BAD, r"dtype|bool|uint8"),
    (np.zeros((2, 3), np.float64), BAD, r"dtype|bool|uint8"),
    (np.zeros((2, 3), np.float32), BAD, r"dtype|bool|uint8"),
    (np.zeros((2, 6), bool)[:, ::2], ValueError, r"contiguous"),
    (np.zeros((4, 3), bool)[::2], ValueError, r"contiguous"),
    (np.zeros((2, 3, 2), np.uint8)[:, :, 0], ValueError, r"contiguous"),
    ([[0, 0, 0], [0, 0, 0]], TypeError, r"out|array"),
], ids=["shape-3x2", "shape-6", "shape-1x2x3", "shape-2x4", "int32", "int8", "float64", "float32",
        "strided-columns", "strided-rows", "strided-uint8", "list"])
def test_decode_bad_out(out, exc, pattern):
    with pytest.raises(exc, match=pattern):
        sarle.decode(GOOD, out=out)


def test_decode_read_only_out():
    out = np.zeros((2, 3), bool)
    out.flags.writeable = False
    with pytest.raises(ValueError, match=r"(?i)read-only|writ"):
        sarle.decode(GOOD, out=out)
    assert not out.any()


@pytest.mark.parametrize("out, pattern", [
    (np.zeros((2, 2, 3), bool), r"shape"),
    (np.zeros((3, 6), bool), r"shape"),
    (np.zeros((3, 3, 2), bool), r"shape"),
    (np.zeros((2, 3, 3), bool).transpose(2, 0, 1), r"contiguous|layout|order|stride"),
    (np.zeros((3, 2, 6), bool)[:, :, ::2], r"contiguous|layout|order|stride"),
], ids=["n-2", "2-D", "hw-swapped", "mask-axis-last", "strided"])
def test_decode_batch_bad_out(out, pattern):
    for batch in ([GOOD] * 3, tfds([GOOD] * 3)):
        with pytest.raises(ValueError, match=pattern):
            sarle.decode(batch, out=out)


@pytest.mark.parametrize("order", ["X", "c ", "A", "K", None, 1], ids=repr)
def test_decode_bad_order(order):
    with pytest.raises(BAD, match=r"order"):
        sarle.decode(GOOD, order=order)


# ---------------------------------------------------------------------------------------------
# Batches: mixed sizes, malformed TFDS dicts, pycocotools' shifting bug


OTHER = {"size": [3, 2], "counts": "6"}


@pytest.mark.parametrize("call", [
    lambda: sarle.decode([GOOD, OTHER]),
    lambda: sarle.decode([GOOD, OTHER, GOOD], order="F"),
    lambda: sarle.decode(tfds([GOOD, OTHER])),
    lambda: sarle.merge([GOOD, OTHER]),
    lambda: sarle.merge([GOOD, OTHER], intersect=True),
    lambda: sarle.iou([GOOD, OTHER], [GOOD]),
], ids=["decode-list", "decode-list-F", "decode-tfds", "merge", "merge-intersect", "iou-dt"])
def test_mixed_sizes_name_the_mask(call):
    with pytest.raises(ValueError, match=kw(r"mask 1\b", r"size")):
        call()


def test_mixed_sizes_in_area_and_bbox_are_fine():
    assert sarle.area([GOOD, OTHER]).tolist() == [2, 0]
    assert sarle.bbox([GOOD, OTHER]).tolist() == [[0, 0, 2, 2], [0, 0, 0, 0]]


@pytest.mark.parametrize("dt, gt", [
    ([GOOD], [OTHER]),
    ([OTHER], [GOOD]),
    ([GOOD, GOOD], [GOOD, OTHER]),
    ([{"size": [2, 3], "counts": "6"}], [OTHER]),  # both empty: boxes do not overlap
    ([{"size": [3, 3], "counts": "09"}], [{"size": [3, 4], "counts": "0<"}]),  # boxes overlap
], ids=["2x3-3x2", "3x2-2x3", "in-gt", "empty-masks", "full-masks"])
def test_iou_sizes_differ(dt, gt):
    with pytest.raises(ValueError, match=r"size"):
        sarle.iou(dt, gt)
    with pytest.raises(ValueError, match=r"size"):
        sarle.iou(dt, gt, iscrowd=[1] * len(gt))


@pytest.mark.parametrize("iscrowd", [[1], [1, 0, 1], [], np.array([1, 0, 0]), np.zeros((2, 1))],
                         ids=["short", "long", "empty", "long-array", "2-D"])
def test_iou_iscrowd_wrong_length(iscrowd):
    with pytest.raises(ValueError, match=r"iscrowd"):
        sarle.iou([GOOD], [GOOD, GOOD], iscrowd=iscrowd)


@pytest.mark.parametrize("iscrowd", [1, "10", 2.5], ids=["int", "str", "float"])
def test_iou_iscrowd_wrong_type(iscrowd):
    with pytest.raises(BAD, match=r"iscrowd"):
        sarle.iou([GOOD], [GOOD, GOOD], iscrowd=iscrowd)


@pytest.mark.parametrize("rles", [[], ()], ids=["list", "tuple"])
def test_merge_of_nothing(rles):
    with pytest.raises(ValueError, match=r"(?i)empty|at least|no "):
        sarle.merge(rles)


@pytest.mark.parametrize("batch, pattern", [
    ({"counts": np.array([b"123", b"123", b"123"], dtype=object),
      "size": np.array([[2, 3], [2, 3]], np.uint64)}, r"size|counts|length|\b2\b.*\b3\b|\b3\b.*\b2\b"),
    ({"counts": np.array([b"123", b"123"], dtype=object),
      "size": np.array([[2, 3, 1], [2, 3, 1]], np.uint64)}, r"size"),
    ({"counts": np.array([b"123", b"123"], dtype=object),
      "size": np.array([[[2, 3]], [[2, 3]]], np.uint64)}, r"size"),
    ({"counts": np.array([b"123", b"123", None], dtype=object),
      "size": np.array([[2, 3]] * 3, np.uint64)}, r"mask 2"),
    ({"counts": np.array([b"123", b"123", 5], dtype=object),
      "size": np.array([[2, 3]] * 3, np.uint64)}, r"mask 2"),
    ({"counts": np.array([b"123", b"123"], dtype=object),
      "size": np.array([[2, 3], [-2, -3]], np.int64)}, r"mask 1"),
    ({"counts": np.array([b"123", b"123"], dtype=object),
      "size": np.array([[2, 3], [2**32, 2**32]], np.uint64)}, r"mask 1"),
], ids=["rows-mismatch", "size-n-by-3", "size-3-D", "None-counts", "int-counts", "negative-size",
        "size-wraps"])
def test_malformed_tfds_batch(batch, pattern):
    for call in TFDS.values():
        with pytest.raises(BAD, match=pattern):
            call(batch)


def test_short_mask_does_not_shift_the_batch():
    """pycocotools decodes this silently, shifting mask 1 by one pixel."""
    short = {"size": [2, 3], "counts": "23"}
    for call in BATCH.values():  # short first: [short, short, GOOD]
        with pytest.raises(ValueError, match=kw(r"mask 0\b", r"sum")):
            call(short, GOOD)
    with pytest.raises(ValueError, match=kw(r"mask 0\b", r"sum")):
        sarle.decode(tfds([short, GOOD]))


# ---------------------------------------------------------------------------------------------
# No garbage: failures leave no trace.


def _refcount_after_failure(call, obj) -> tuple[int, int]:
    gc.collect()
    before = sys.getrefcount(obj)
    try:
        call()
    except BAD:
        pass
    else:  # pragma: no cover - the call must fail
        raise AssertionError("no error raised")
    gc.collect()
    return before, sys.getrefcount(obj)


@pytest.mark.parametrize("bad", [
    {"size": [2, 3], "counts": "123p"},
    {"size": [2, 3], "counts": "23"},
    {"size": [2, 3], "counts": "12P"},
    {"size": [2, 3], "counts": [3, -1, 4]},
], ids=["char", "short", "truncated", "negative"])
def test_failed_decode_into_out_claims_nothing(bad):
    out = np.zeros((2, 3), np.uint8)
    before, after = _refcount_after_failure(lambda: sarle.decode(bad, out=out), out)
    assert after == before
    out[...] = 0xA5
    assert sarle.decode(GOOD, out=out) is out
    np.testing.assert_array_equal(out, GOOD_MASK.view(np.uint8))

    batch_out = np.zeros((3, 2, 3), bool)
    before, after = _refcount_after_failure(lambda: sarle.decode([GOOD, GOOD, bad], out=batch_out),
                                            batch_out)
    assert after == before
    batch_out.view(np.uint8)[...] = 0xA5
    assert sarle.decode([GOOD] * 3, out=batch_out) is batch_out
    np.testing.assert_array_equal(batch_out, np.stack([GOOD_MASK] * 3))


def test_failed_call_leaves_input_untouched():
    bad = {"size": [2, 3], "counts": [3, -1, 4]}
    runs = bad["counts"]
    before, after = _refcount_after_failure(lambda: sarle.decode(bad), runs)
    assert after == before
    assert bad == {"size": [2, 3], "counts": [3, -1, 4]}
    arr = np.array([2, 3], dtype=np.int64)
    bad = {"size": [2, 3], "counts": arr}
    with pytest.raises(ValueError):
        sarle.compress(bad)
    assert arr.tolist() == [2, 3] and bad["counts"] is arr


@pytest.mark.parametrize("bad", [
    {"size": [2, 3], "counts": "123p"},
    {"size": [2, 3], "counts": "23"},
    {"size": [2, 3], "counts": "12P"},
    {"size": [2, 3], "counts": "1" + "o" * 20 + "0"},
    {"size": [2, 3], "counts": encode_values([1, 1, 1, -2])},
    {"size": [-1, 3], "counts": ""},
    {"size": [2, 3], "counts": None},
], ids=["char", "short", "truncated", "overflow", "negative", "bad-size", "bad-counts"])
def test_valid_input_after_invalid(bad):
    for name, call in SINGLE.items():
        with pytest.raises(BAD):
            call(bad)
    np.testing.assert_array_equal(sarle.decode(GOOD), GOOD_MASK)
    np.testing.assert_array_equal(sarle.decode(GOOD, order="F"), GOOD_MASK)
    assert sarle.area(GOOD) == 2
    assert sarle.bbox(GOOD).tolist() == [0, 0, 2, 2]
    assert sarle.compress({"size": [2, 3], "counts": [1, 2, 3]})["counts"] == "123"
    assert list(sarle.decompress(GOOD)["counts"]) == [1, 2, 3]
    assert sarle.merge([GOOD, GOOD])["counts"] == "123"
    assert sarle.iou([GOOD], [GOOD]).tolist() == [[1.0]]
    for call in BATCH.values():
        with pytest.raises(BAD):
            call(GOOD, bad)
    np.testing.assert_array_equal(sarle.decode([GOOD, GOOD]), np.stack([GOOD_MASK] * 2))


# ---------------------------------------------------------------------------------------------
# Fuzz: arbitrary bytes either parse consistently or raise ValueError, never anything else;
# mutated valid strings are accepted exactly when a strict plain-Python parser accepts them.


def strict_runs(s: bytes, total: int) -> list[int] | None:
    """Run lengths of a COCO string, or None if it is malformed in any way (the oracle)."""
    runs, pos = [], 0
    while pos < len(s):
        x, k = 0, 0
        while True:
            if pos >= len(s):
                return None  # ends inside a group
            c = s[pos] - 48
            if not 0 <= c < 64:
                return None  # outside '0'..'o'
            x |= (c & 0x1F) << (5 * k)
            k += 1
            pos += 1
            if not c & 0x20:
                if c & 0x10:
                    x -= 1 << (5 * k)
                break
        if k > 13 or not -(2**63) <= x < 2**63:
            return None  # does not fit in 64 bits
        run = x + runs[-2] if len(runs) > 2 else x
        if run < 0:
            return None
        runs.append(run)
    if sum(runs) != total or (not runs and total):
        return None
    return runs


def runs_bbox(runs: list[int], h: int) -> list[float]:
    xs, ys, xe, ye, pos = None, None, -1, -1, 0
    for j, r in enumerate(runs):
        start, pos = pos, pos + r
        if j % 2 == 0 or r == 0:
            continue
        (x0, y0), (x1, y1) = divmod(start, h), divmod(pos - 1, h)
        if x0 < x1:
            y0, y1 = 0, h - 1
        xs = x0 if xs is None else min(xs, x0)
        ys = y0 if ys is None else min(ys, y0)
        xe, ye = max(xe, x1), max(ye, y1)
    return [0.0] * 4 if xs is None else [xs, ys, xe - xs + 1, ye - ys + 1]


_RUN = st.integers(0, 40) | st.sampled_from([15, 16, 17, 31, 32, 33, 511, 512, 513, 16383, 16384,
                                             16385, 2**29, 2**31, 2**32 + 1, 2**40])


@given(runs=st.lists(_RUN, max_size=9), h=st.integers(1, 7), pad=st.integers(-2, 2),
       edit=st.sampled_from(["none", "drop-last", "append", "replace", "insert"]),
       where=st.integers(0, 200), char=st.integers(0, 255))
def test_fuzz_against_strict_parser(runs, h, pad, edit, where, char):
    s = encode_runs(runs).encode()
    total = max(sum(runs) + pad, 0)
    w = -(-total // h)
    if edit == "drop-last":
        s = s[:-1]
    elif edit == "append":
        s += bytes([char])
    elif edit == "replace" and s:
        i = where % len(s)
        s = s[:i] + bytes([char]) + s[i + 1:]
    elif edit == "insert":
        i = where % (len(s) + 1)
        s = s[:i] + bytes([char]) + s[i:]
    want = strict_runs(s, h * w)
    rle = {"size": [h, w], "counts": s}
    if want is None:
        for call in (sarle.area, sarle.bbox, sarle.compress, sarle.decompress):
            with pytest.raises(ValueError):
                call(rle)
        return
    assert sarle.area(rle) == sum(want[1::2])
    assert sarle.bbox(rle).tolist() == runs_bbox(want, h)
    got = [int(r) for r in sarle.decompress(rle)["counts"]]
    assert sum(got) == h * w and sum(got[1::2]) == sum(want[1::2])
    if h * w <= 4096:
        m = sarle.decode(rle)
        assert int(np.count_nonzero(m)) == sum(want[1::2])



@given(counts=st.binary(max_size=24) | st.text(alphabet=st.characters(min_codepoint=40, max_codepoint=115),
                                                 max_size=24),
       h=st.integers(0, 6), w=st.integers(0, 6))
def test_fuzz_strings(counts, h, w):
    rle = {"size": [h, w], "counts": counts}
    try:
        a = sarle.area(rle)
    except ValueError:
        for call in (sarle.decode, sarle.bbox, sarle.compress, sarle.decompress):
            with pytest.raises(ValueError):
                call(rle)
        return
    m = sarle.decode(rle)
    assert m.shape == (h, w) and int(np.count_nonzero(m)) == a
    c = sarle.compress(rle)
    np.testing.assert_array_equal(sarle.decode(c), m)
    assert c == sarle.encode(m)
    runs = [int(r) for r in sarle.decompress(rle)["counts"]]
    assert sum(runs) == h * w and sum(runs[1::2]) == a


# ---------------------------------------------------------------------------------------------
# area/bbox of a list take a C fast path for json.load-style dicts; a tuple of the same items
# takes the general parser. Both must give the same numbers and the same errors.

_STATS_ITEMS = [
    GOOD,
    OTHER,
    {"size": [3, 2], "counts": b"6"},
    {"size": [0, 0], "counts": ""},
    {"size": [2**31, 2**31], "counts": "0"},                    # h * w == 2**62: bad counts
    {"size": [2**31, 2**31 + 1], "counts": "0"},                # h * w > 2**62
    {"size": [2**63, 1], "counts": "0"},                        # beyond int64
    {"size": [-1, 3], "counts": ""},
    {"size": [True, 3], "counts": "3"},
    {"size": [1.0, 3], "counts": "3"},
    {"size": (1, 3), "counts": "3"},
    {"size": np.array([1, 3], np.uint64), "counts": "3"},
    {"size": [1, 3, 1], "counts": "3"},
    {"size": [1, 3], "counts": "3\u00e9"},
    {"size": [1, 3], "counts": bytearray(b"3")},
    {"size": [1, 3], "counts": [0, 3]},
    {"size": [1, 3], "counts": "4"},                            # runs sum past h * w
    {"size": [1, 3], "counts": "0"},                            # runs sum short of h * w
    {"size": [1, 3], "counts": "0x"},                           # character outside the alphabet
    {"size": [1, 3]},
    {"counts": "3"},
    None,
    "size",
]


@given(st.lists(st.sampled_from(range(len(_STATS_ITEMS))), max_size=6))
def test_area_bbox_fast_path_agrees_with_general_parser(picks):
    items = [_STATS_ITEMS[i] for i in picks]
    for function in (sarle.area, sarle.bbox):
        outcomes = []
        for batch in (list(items), tuple(items)):
            try:
                outcomes.append(("ok", function(batch).tolist()))
            except (ValueError, TypeError) as error:
                outcomes.append((type(error).__name__, str(error)))
        assert outcomes[0] == outcomes[1], (function.__name__, picks)


def test_area_bbox_fast_path_takes_exactly_json_dicts():
    from sarle import _rle
    from sarle._inputs import MAX_PIXELS

    eligible = {0, 1, 2, 3, 4, 16, 17, 18}
    for i, item in enumerate(_STATS_ITEMS):
        columns = _rle.json_rle_columns([GOOD, item], MAX_PIXELS)
        assert (columns is not None) == (i in eligible), (i, item)
    counts, hs, ws = _rle.json_rle_columns([GOOD, OTHER], MAX_PIXELS)
    assert counts == [GOOD["counts"], OTHER["counts"]] and counts[0] is GOOD["counts"]
    assert hs.dtype == ws.dtype == np.int64 and hs.tolist() == [2, 3] and ws.tolist() == [3, 2]


# ---------------------------------------------------------------------------------------------
# decode of one json.load-style dict takes a one-call fast path (_rle.decode_new); a dict
# subclass with the same items takes the general path. Both must give the same arrays (values,
# dtype, layout) and the same errors.

class _PlainMapping(dict):
    """A dict that is not exactly ``dict``: decode treats it the general way."""


_DECODE_ITEMS = _STATS_ITEMS[:-2] + [
    {"size": [1, 3], "counts": b"0x"},
    {"size": [1, 3], "counts": "0\x80"},
    {"size": [2, 3], "counts": "1"},                            # string ends after run 0
    {"size": [2, 3], "counts": "1" + "o"},                      # ends inside a 5-bit group
    {"size": [8192, 8192], "counts": "0"},                      # 2**26 pixels: checked first
    {"size": [1500, 2000], "counts": "0"},                      # large, malformed
    {"size": [1500, 2000], "counts": sarle.encode(np.eye(1500, 2000, dtype=bool))["counts"]},
    {"size": [2, 3], "counts": np.array([1, 2, 3])},
    {"size": [[2, 3]], "counts": ["123"]},                      # TFDS batch
]
_DECODE_CALLS = [
    {}, {"order": "F"}, {"order": "c"}, {"threads": 1}, {"threads": 2}, {"threads": 0},
    {"threads": True}, {"order": "F", "threads": None},
]


def _decode_outcome(rle, kwargs):
    try:
        array = sarle.decode(rle, **kwargs)
    except (ValueError, TypeError) as error:
        return type(error).__name__, str(error)
    flags = (array.flags.c_contiguous, array.flags.f_contiguous, array.flags.writeable)
    return "ok", array.dtype, array.shape, flags, np.packbits(array).tobytes()


@pytest.mark.parametrize("kwargs", _DECODE_CALLS, ids=str)
@pytest.mark.parametrize("item", range(len(_DECODE_ITEMS)))
def test_decode_fast_path_agrees_with_general_path(item, kwargs):
    rle = _DECODE_ITEMS[item]
    assert _decode_outcome(rle, kwargs) == _decode_outcome(_PlainMapping(rle), kwargs)


def test_decode_fast_path_takes_exactly_plain_whole_decodes(monkeypatch):
    from sarle import _rle

    taken = []
    real = _rle.decode_new
    monkeypatch.setattr(_rle, "decode_new", lambda *args: taken.append(args) or real(*args))
    eligible = {0, 1, 2, 16, 17, 18, 21, 23, 24, 26, 27}
    for i, item in enumerate(_DECODE_ITEMS):
        taken.clear()
        try:
            sarle.decode(item)
        except (ValueError, TypeError):
            pass
        assert bool(taken) == (i in eligible), (i, item)
    for kwargs in ({"out": np.zeros((2, 3), bool)}, {"crop": (0, 0, 3, 2)}, {"size": (2, 3)},
                   {"scale": 1.0}):
        taken.clear()
        assert sarle.decode(GOOD, **kwargs).tolist() == GOOD_MASK.tolist()
        assert not taken, kwargs
    for kwargs in ({"threads": 0}, {"order": "c"}):
        taken.clear()
        with pytest.raises(ValueError):
            sarle.decode(GOOD, **kwargs)
        assert not taken, kwargs
    taken.clear()
    assert sarle.decode(GOOD, order="F", threads=2).tolist() == GOOD_MASK.tolist() and taken
