"""Coverage-guided fuzzing of sarle's codec: decode, area, bbox, merge, iou, compress, encode.

Run it with ``fuzz/run.sh`` or directly::

    python fuzz/fuzz_codec.py -max_total_time=60 fuzz/corpus/codec

``check_codec(data)`` is the whole test of one input; it needs no atheris and
is replayed over the committed corpus and crashes by
``tests/test_fuzz_corpus.py``.

What one input becomes (see :class:`_common.Provider`), by mode:

* **single**: one RLE with fuzzed ``size`` (mostly small; sometimes up to
  2**31, 2**62, 2**64, negative, in odd forms: tuple, numpy arrays of any
  integer dtype, floats, bools, strings, wrong length) and fuzzed ``counts``
  (arbitrary bytes as ``str``/``bytes``/``bytearray``/``memoryview``/numpy
  strings; a string written from fuzzed runs, then maybe mutated; a run list
  as list/tuple/array of any dtype with negative, huge, float and bool
  items), in a dict or another Mapping;
* **batch**: lists, tuples and TFDS batch dicts of such RLEs;
* **encode**: fuzzed masks of every dtype and memory layout;
* **polygon**: ``from_bbox``/``from_polygon`` on small images.

The oracle is ``tests/reference.py`` (exact Python-int arithmetic, any size)
plus numpy on the decoded mask (pycocotools for polygons). What must hold:

* every call returns a valid result or raises ValueError/TypeError;
  anything else (OverflowError, MemoryError, IndexError, a segfault, a hang)
  is a finding;
* a call succeeds exactly when the input is valid per the reference;
* on success: ``compress`` is the canonical string, ``decompress`` the
  canonical runs, ``encode(decode(r)) == compress(r)``, ``area`` ==
  ``mask.sum()``, ``bbox`` == the numpy box, ``merge([r, r]) == compress(r)``,
  ``iou(r, r)`` is 1 (0 for an empty mask, as pycocotools), merge/iou with a
  second mask agree with the reference, ``decode(size=, crop=, scale=)`` is
  the slice ``full[rows][:, cols]`` with ``sarle.nearest_indices``,
  ``label_map`` paints as documented, batches agree with their items and
  errors in a batch name a bad mask's index.

Dense decodes are done only for at most ``DECODE_MAX`` pixels; bigger masks
exercise area/bbox/iou/merge/compress, which never allocate ``h * w``.
"""

from __future__ import annotations

import collections
import math
import operator
import os
import re
import sys
import types
from typing import Any, List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import _common  # noqa: E402
from _common import Finding, Provider, attempt, fail, short  # noqa: E402

if __name__ == "__main__":
    # Coverage feedback from sarle's Python modules and from the harness's own
    # generators and oracle (which branch on the input's structure); the
    # Cython kernels of sarle._rle are not instrumented (see README).
    import atheris

    with atheris.instrument_imports(include=["sarle", "reference", "fuzz_codec"]):
        import sarle
        import sarle._inputs
        import sarle.codec
        import reference
        import fuzz_codec
    _common.main(fuzz_codec.check_codec)
    sys.exit(0)

import sarle  # noqa: E402

import reference as ref  # noqa: E402  (tests/reference.py, put on sys.path by _common)

try:  # the polygon oracle; optional
    from pycocotools import mask as coco_mask
except ImportError:  # pragma: no cover
    coco_mask = None

MAX_PIXELS = 2**62
#: Largest mask decoded densely and compared with numpy (pixels).
DECODE_MAX = 1 << 16
#: Largest output of a crop/resample, label map or batch decode (pixels).
OUT_MAX = 1 << 16
#: ``decode(crop=/size=/scale=)`` builds int64 row indexes of ``h + 1`` items
#: for a non-empty output (up to 2 GiB at sarle's limit of 2**27 rows): the
#: harness samples only masks up to this height, and masks over the limit,
#: which must be refused without any index.
SAMPLE_H_MAX = 1 << 20
#: sarle refuses to crop or resample (into a non-empty output) masks taller than this.
SAMPLED_ROWS_MAX = 1 << 27
#: Outputs of at least this many bytes are allocated only after the counts parse.
CHECKED_ALLOCATION = 1 << 26

ERROR = "error"     # the input is invalid: ValueError or TypeError
EITHER = "either"   # the contract allows both (e.g. a value written with more than 64 bits)


def tolerated(name: str) -> bool:
    """True when a known, reported issue should be let through (not strict mode)."""
    return any(name == known for known, _ in _common.KNOWN_ISSUES) and not _common.is_strict(name)


def may_allocate(nbytes: int) -> bool:
    """Whether a call on an *invalid* RLE whose output would take ``nbytes`` may be made.

    sarle parses the counts before allocating outputs of 64 MiB or more (and
    numpy fails at once beyond ~16 TiB), so those calls must fail without
    allocating; smaller ones allocate, then fail. Without an address-space cap
    (``_common.memory_guarded``: pytest replays) a regression in between
    would wake the OOM killer rather than raise MemoryError, so only the safe
    sizes are tried there.
    """
    return nbytes < CHECKED_ALLOCATION or nbytes >= 2**44 or _common.memory_guarded()


def safe_ndim(value: Any) -> int:
    try:
        return int(np.ndim(value))
    except (ValueError, TypeError):   # ragged
        return 1


# --------------------------------------------------------------------------- generators


def gen_dim(p: Provider) -> int:
    k = p.ConsumeIntInRange(0, 15)
    if k < 8:
        return p.ConsumeIntInRange(0, 16)
    if k < 11:
        return p.ConsumeIntInRange(0, 64)
    if k < 13:
        return p.ConsumeIntInRange(0, 2**31)
    if k == 13:
        return p.PickValueInList([2**20, 2**31, 2**32, 2**62, 2**63 - 1, 2**63, 2**64 - 1, 2**64])
    return p.ConsumeInterestingInt()


def gen_small_dims(p: Provider) -> Tuple[int, int]:
    return p.ConsumeIntInRange(0, 12), p.ConsumeIntInRange(0, 12)


_INT_DTYPES = [np.int64, np.uint64, np.int32, np.uint32, np.int16, np.uint16, np.int8, np.uint8]


def _fits(values: List[int], dtype: Any) -> bool:
    info = np.iinfo(dtype)
    return all(isinstance(v, int) and info.min <= v <= info.max for v in values)


def gen_size(p: Provider, h: int, w: int) -> Any:
    """``[h, w]`` in one of the forms users hand over, valid or not."""
    k = p.ConsumeIntInRange(0, 23)
    if k < 10:
        return [h, w]
    if k == 10:
        return (h, w)
    if k in (11, 12):
        dtype = p.PickValueInList(_INT_DTYPES)
        return np.array([h, w], dtype=dtype) if _fits([h, w], dtype) else [h, w]
    if k == 13:
        a, b = p.PickValueInList(_INT_DTYPES), p.PickValueInList(_INT_DTYPES)
        if _fits([h], a) and _fits([w], b):
            return [np.dtype(a).type(h), np.dtype(b).type(w)]
        return (h, w)
    if k == 14:
        return [float(h), float(w)] if abs(h) < 2**1000 and abs(w) < 2**1000 else [h, w]
    if k == 15:
        dtype = p.PickValueInList([np.float64, np.float32, np.float16])
        with np.errstate(over="ignore"):
            return np.array([float(h), float(w)] if abs(h) < 2**1000 else [0.0, 1.0], dtype=dtype)
    if k == 16:
        return [h, p.ConsumeFloat()] if p.ConsumeBool() else [p.ConsumeFloat(), w]
    if k == 17:
        return p.PickValueInList([[True, w], [h, False], [np.bool_(True), np.bool_(True)],
                                  np.array([1, 1], dtype=bool)])
    if k == 18:
        return p.PickValueInList([[str(h), w], f"{h}x{w}", [h, None], [h, "w"], b"\x01\x02",
                                  [h, [w]], [h, 1 + 0j]])
    if k == 19:
        return p.PickValueInList([[h], [h, w, 1], [], (h, w, 0), np.array([h]), np.zeros(0)])
    if k == 20:
        return p.PickValueInList([None, h, {"h": h, "w": w}, np.int64(3), np.array(7),
                                  {h, w}, range(2)])
    if k == 21:
        return np.array([h, w], dtype=object)
    if k == 22:
        return [np.float64(h) if abs(h) < 2**1000 else h, np.float32(w) if abs(w) < 2**100 else w]
    return np.array([[h, w]]) if _fits([h, w], np.int64) else [[h, w]]


def gen_runs(p: Provider, total: int) -> List[int]:
    """Run lengths: usually summing to ``total``, sometimes not, sometimes negative or huge."""
    n = p.ConsumeIntInRange(0, 12)
    runs: List[int] = []
    left = total
    for _ in range(n):
        k = p.ConsumeIntInRange(0, 9)
        if k == 0:
            r = 0
        elif k < 5:
            r = p.ConsumeIntInRange(0, max(0, min(left, 70)))
        elif k < 7:
            r = p.ConsumeIntInRange(0, max(0, left))
        elif k == 7:
            r = max(left, 0)
        else:
            r = p.ConsumeInterestingInt()
        runs.append(r)
        left -= r
    if p.ConsumeIntInRange(0, 4) and left >= 0:
        runs.append(left)
    return runs


def gen_valid_runs(p: Provider, total: int) -> List[int]:
    """Non-negative runs summing exactly to ``total`` (zero runs allowed anywhere)."""
    n = p.ConsumeIntInRange(0, 8)
    runs, left = [], total
    for _ in range(n):
        r = p.ConsumeIntInRange(0, left) if p.ConsumeBool() else p.ConsumeIntInRange(0, min(left, 40))
        runs.append(r)
        left -= r
    runs.append(left)
    return runs


def mutate_bytes(p: Provider, s: bytes) -> bytes:
    k = p.ConsumeIntInRange(0, 9)
    if k < 5 or not s and k < 8:
        return s
    if k == 5:   # change one byte
        i = p.ConsumeIntInRange(0, len(s) - 1)
        return s[:i] + bytes([p.ConsumeIntInRange(0, 255)]) + s[i + 1:]
    if k == 6:   # truncate
        return s[: p.ConsumeIntInRange(0, len(s) - 1)]
    if k == 7:   # drop one byte
        i = p.ConsumeIntInRange(0, len(s) - 1)
        return s[:i] + s[i + 1:]
    if k == 8:   # insert payload
        i = p.ConsumeIntInRange(0, len(s))
        return s[:i] + p.ConsumeSizedBytes(8) + s[i:]
    return s + p.ConsumeSizedBytes(8)


def string_form(p: Provider, raw: bytes) -> Any:
    k = p.ConsumeIntInRange(0, 9)
    if k < 4:
        return raw.decode("latin-1")
    if k < 7:
        return raw
    if k == 7:
        return bytearray(raw)
    if k == 8:
        return memoryview(raw)
    return np.bytes_(raw) if p.ConsumeBool() else np.str_(raw.decode("latin-1"))


def list_form(p: Provider, runs: List[int]) -> Any:
    k = p.ConsumeIntInRange(0, 15)
    if k < 6:
        return list(runs)
    if k == 6:
        return tuple(runs)
    if k in (7, 8):
        dtype = p.PickValueInList(_INT_DTYPES)
        return np.array(runs, dtype=dtype) if _fits(runs, dtype) else list(runs)
    if k == 9:
        if all(abs(r) < 2**53 for r in runs):
            return np.array(runs, dtype=np.float64) if p.ConsumeBool() else [float(r) for r in runs]
        return list(runs)
    if k == 10 and runs:   # one odd element
        i = p.ConsumeIntInRange(0, len(runs) - 1)
        odd = p.PickValueInList([True, False, np.bool_(True), None, "3", b"3", [1], 1.5,
                                 math.nan, math.inf, float(runs[i]) if abs(runs[i]) < 2**53 else 0.5,
                                 np.int64(2), np.uint8(3), 1 + 0j])
        out = list(runs)
        out[i] = odd
        return out
    if k == 11:
        return np.array(runs, dtype=object)
    if k == 12:
        return [np.int64(r) if _fits([r], np.int64) else r for r in runs]
    if k == 13:
        if _fits(runs, np.int64) and runs:
            return memoryview(np.array(runs, dtype=np.int64))
        return list(runs)
    if k == 14:
        return p.PickValueInList([np.array([runs]) if _fits(runs, np.int64) else [runs],
                                  np.array(runs, dtype=bool) if runs else [],
                                  [str(r) for r in runs], np.array([str(r) for r in runs])])
    return p.PickValueInList([None, 3, 3.5, {"counts": runs}, object(), [[1, 2], [3]],
                              iter(runs), np.float64(2.0)])


def gen_counts(p: Provider, total: int) -> Any:
    k = p.ConsumeIntInRange(0, 15)
    if k < 3:
        return string_form(p, p.ConsumeSizedBytes(512))
    if k < 10:
        runs = gen_runs(p, total) if k < 6 else gen_valid_runs(p, total)
        text = ref.string_from_runs(runs).encode("ascii")
        return string_form(p, mutate_bytes(p, text))
    if k < 15:
        runs = gen_runs(p, total) if k < 13 else gen_valid_runs(p, total)
        return list_form(p, runs)
    return p.PickValueInList([None, 0, 1.0, {}, set(), [], (), np.zeros(0), b"", ""])


def wrap_rle(p: Provider, size: Any, counts: Any) -> Tuple[Any, bool]:
    """An RLE container; the flag says whether it is a well-formed dict/Mapping."""
    k = p.ConsumeIntInRange(0, 19)
    if k < 14:
        return {"size": size, "counts": counts}, True
    if k == 14:
        return {"counts": counts, "size": size, "extra": [1, 2]}, True
    if k == 15:
        return collections.OrderedDict(size=size, counts=counts), True
    if k == 16:
        return types.MappingProxyType({"size": size, "counts": counts}), True
    if k == 17:
        return ({"size": size} if p.ConsumeBool() else {"counts": counts}), False
    return p.PickValueInList([None, "04", 3, b"04", object(), np.zeros(3), {"SIZE": size}]), False


# --------------------------------------------------------------------------- expectations


def expect_size(size: Any) -> Any:
    """``(h, w)``, ERROR or EITHER, as documented (list, tuple or 1-D array of 2 whole numbers)."""
    if isinstance(size, np.ndarray):
        if size.ndim != 1:
            return ERROR
        items = list(size)
    elif isinstance(size, (list, tuple)):
        items = list(size)
    else:
        return ERROR
    if len(items) != 2:
        return ERROR
    dims = []
    for value in items:
        if isinstance(value, (bool, np.bool_)):
            return ERROR
        if isinstance(value, (int, np.integer)):
            number = int(value)
        elif isinstance(value, (float, np.floating)):
            if not math.isfinite(value) or not float(value).is_integer():
                return ERROR
            number = int(value)
        else:
            return ERROR
        if number < 0:
            return ERROR
        dims.append(number)
    h, w = dims
    if h * w > MAX_PIXELS or max(h, w) > MAX_PIXELS:   # a side over 2**62 even of an empty mask
        return ERROR
    return h, w


def _value_groups(text: bytes) -> List[Tuple[int, int]]:
    """``(value, characters)`` of each signed value of a well-formed string."""
    out, pos = [], 0
    while pos < len(text):
        x = shift = 0
        start = pos
        while True:
            c = text[pos] - 48
            x |= (c & 0x1F) << shift
            shift += 5
            pos += 1
            if not c & 0x20:
                if c & 0x10:
                    x -= 1 << shift
                break
        out.append((x, pos - start))
    return out


def _minimal_length(x: int) -> int:
    n = 1
    while True:
        group = x & 0x1F
        x >>= 5
        if x == (-1 if group & 0x10 else 0):
            return n
        n += 1


def expect_string(text: bytes) -> Any:
    """Runs of a compressed string, ERROR, or EITHER (an overlong value past 64 bits)."""
    try:
        runs = ref.runs_from_string(text)
    except ValueError:
        return ERROR
    for value, chars in _value_groups(text):
        if chars > 12 and chars > _minimal_length(value):
            return EITHER   # a valid value written with more than 64 bits: may be refused
    return runs


def _whole_number(value: Any) -> Optional[int]:
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if math.isfinite(value) and float(value).is_integer():
            return int(value)
    return None


def expect_run_list(counts: Any) -> Any:
    """Runs of an uncompressed run list, or ERROR (documented in _inputs._runs_array)."""
    if isinstance(counts, np.ndarray):
        if counts.ndim != 1:
            return ERROR
        kind = counts.dtype.kind
        if counts.size == 0:
            return []
        if kind in "iu":
            values = [int(v) for v in counts]
        elif kind == "f":
            values = [_whole_number(v) for v in counts]
        elif kind == "O":
            values = []
            for v in counts:
                if isinstance(v, (bool, np.bool_)):
                    return ERROR
                try:
                    values.append(operator.index(v))
                except TypeError:
                    return ERROR
        else:
            return ERROR
    else:
        items = list(counts)
        if not items:
            return []
        has_float = any(isinstance(v, (float, np.floating)) for v in items)
        values = []
        for v in items:
            number = _whole_number(v)
            if number is None or isinstance(v, (np.bool_, bool)):
                return ERROR
            if has_float and abs(number) > 2**53 and not isinstance(v, (float, np.floating)):
                return EITHER   # numpy turns a mixed list into float64 and rounds big ints
            values.append(number)
    if any(v is None or v < 0 or v > MAX_PIXELS for v in values):
        return ERROR
    return values


def expect_counts(counts: Any) -> Any:
    if isinstance(counts, str):
        try:   # str(): numpy.str_ drops trailing NULs (numpy pads strings with them)
            return expect_string(str(counts).encode("ascii"))
        except UnicodeEncodeError:
            return ERROR
    if isinstance(counts, (bytes, bytearray)):
        return expect_string(bytes(counts))
    if isinstance(counts, memoryview):
        if counts.format in ("B", "b", "c") and counts.ndim == 1:
            return expect_string(counts.tobytes())
        return expect_run_list(np.asarray(counts))
    if isinstance(counts, (list, tuple, np.ndarray)):
        return expect_run_list(counts)
    return ERROR


def expect_rle(rle: Any, well_formed: bool) -> Tuple[Any, Any]:
    """(expectation, size expectation): ``("ok", h, w, runs)``, ERROR or EITHER."""
    if not well_formed:
        return ERROR, ERROR
    size = rle["size"]
    first = size[0] if isinstance(size, (list, tuple, np.ndarray)) and safe_ndim(size) and len(size) else None
    if isinstance(first, (list, tuple, np.ndarray)):
        return EITHER, ERROR   # shaped like a TFDS batch dict: documented as a batch
    size = expect_size(rle["size"])
    if size == ERROR:
        return ERROR, size
    runs = expect_counts(rle["counts"])
    if runs == ERROR:
        return ERROR, size
    if size == EITHER or runs == EITHER:
        return EITHER, size
    h, w = size
    if sum(runs) != h * w:
        return ERROR, size
    return ("ok", h, w, runs), size


# --------------------------------------------------------------------------- checks


def must_fail(what: str, outcome: Any, rle: Any) -> None:
    if outcome.ok:
        fail(f"{what}: accepted an invalid RLE {short(rle)} -> {short(outcome.value)}")


def must_pass(what: str, outcome: Any, rle: Any) -> Any:
    if not outcome.ok:
        fail(f"{what}: refused a valid RLE {short(rle)}: {outcome}")
    return outcome.value


def check_canonical(what: str, result: Any, h: int, w: int, text: str) -> None:
    if not isinstance(result, dict) or set(result) != {"size", "counts"}:
        fail(f"{what}: not an RLE dict: {short(result)}")
    if type(result["counts"]) is not str or result["counts"] != text:
        fail(f"{what}: counts {short(result['counts'])}, expected canonical {short(text)}")
    size = result["size"]
    if type(size) is not list or [type(v) for v in size] != [int, int] or size != [h, w]:
        fail(f"{what}: size {short(size)}, expected [{h}, {w}]")


def ref_iou(a: List[int], b: List[int], crowd: bool = False) -> float:
    return float(ref.iou([a], [b], [crowd])[0, 0])


def same_float(x: float, y: float, big: bool) -> bool:
    if big:
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0)
    return x == y


def numpy_bbox(mask: np.ndarray) -> List[float]:
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if xs.size == 0:
        return [0.0, 0.0, 0.0, 0.0]
    return [float(xs[0]), float(ys[0]), float(xs[-1] - xs[0] + 1), float(ys[-1] - ys[0] + 1)]


def check_valid_single(p: Provider, rle: Any, h: int, w: int, runs: List[int]) -> None:
    """Every invariant of one valid RLE."""
    total = h * w
    canon = ref.canonical(runs)
    canon_text = ref.string_from_runs(canon)
    area = ref.area(runs)
    box = [float(v) for v in ref.bbox(runs, h, w)]

    value = must_pass("area", attempt(sarle.area, rle), rle)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        fail(f"area of one RLE {short(rle)} is {short(value)}, not an integer")
    if int(value) != area:
        fail(f"area {short(value)} != {area} for {short(rle)}")

    value = must_pass("bbox", attempt(sarle.bbox, rle), rle)
    if not isinstance(value, np.ndarray) or value.shape != (4,):
        fail(f"bbox of one RLE {short(rle)} is {short(value)}, not shape (4,)")
    if value.dtype != np.float64 or value.tolist() != box:
        fail(f"bbox {short(value)} != {box} for {short(rle)}")

    check_canonical("compress", must_pass("compress", attempt(sarle.compress, rle), rle),
                    h, w, canon_text)
    value = must_pass("decompress", attempt(sarle.decompress, rle), rle)
    if value != {"size": [h, w], "counts": canon} or not all(type(v) is int for v in value["counts"]):
        fail(f"decompress {short(value)} != canonical runs {short(canon)} for {short(rle)}")
    check_canonical("merge(r)", must_pass("merge", attempt(sarle.merge, rle), rle), h, w, canon_text)
    check_canonical("merge([r, r])", must_pass("merge", attempt(sarle.merge, [rle, rle]), rle),
                    h, w, canon_text)
    check_canonical("merge([r, r], intersect)",
                    must_pass("merge", attempt(sarle.merge, (rle, rle), intersect=True), rle),
                    h, w, canon_text)
    expected = 1.0 if area else 0.0
    for crowd in (None, [True], np.array([0], dtype=np.uint8)):
        value = must_pass("iou", attempt(sarle.iou, rle, rle, crowd), rle)
        if not isinstance(value, np.ndarray) or value.shape != (1, 1) or value.dtype != np.float64 \
                or value[0, 0] != expected:
            fail(f"iou(r, r, iscrowd={crowd!r}) = {short(value)}, expected [[{expected}]] for {short(rle)}")

    # a second mask of the same size: merge and iou against the reference
    other_runs = gen_valid_runs(p, total)
    other = {"size": [h, w], "counts": ref.string_from_runs(other_runs)}
    big = total >= 2**53
    for intersect in (False, True):
        value = must_pass("merge", attempt(sarle.merge, [rle, other], intersect=intersect), rle)
        check_canonical(f"merge([r, s], intersect={intersect})", value, h, w,
                        ref.string_from_runs(ref.merge([runs, other_runs], intersect)))
    crowd = p.ConsumeBool()
    value = must_pass("iou", attempt(sarle.iou, [rle], [other], [crowd]), rle)
    if value.shape != (1, 1) or not same_float(float(value[0, 0]), ref_iou(runs, other_runs, crowd), big):
        fail(f"iou(r, s, crowd={crowd}) = {short(value)}, reference "
             f"{ref_iou(runs, other_runs, crowd)!r} for {short(rle)} and {short(other)}")

    if total <= DECODE_MAX and max(h, w) <= SAMPLE_H_MAX:
        check_dense(p, rle, h, w, runs, canon_text, area, box)
    elif h > SAMPLED_ROWS_MAX:
        # too tall to crop or resample: refused without building a row index,
        # unless the output is empty (then nothing is indexed)
        got = attempt(sarle.decode, rle, crop=(0, 0, min(w, 1), 1))
        if w:
            must_fail("decode(crop) of a mask over 2**27 rows", got, rle)
        elif must_pass("decode(crop) to an empty output", got, rle).shape != (1, 0):
            fail(f"decode(crop=(0, 0, 0, 1)) has shape {got.value.shape} for {short(rle)}")
        value = must_pass("label_map(crop) to an empty output",
                          attempt(sarle.label_map, rle, crop=(0, 0, 0, 0)), rle)
        if value.shape != (0, 0):
            fail(f"label_map(crop=(0, 0, 0, 0)) has shape {value.shape} for {short(rle)}")


def check_dense(p: Provider, rle: Any, h: int, w: int, runs: List[int], canon_text: str,
                area: int, box: List[float]) -> None:
    """Decode a small valid RLE every way and compare with numpy."""
    expected = ref.mask_from_runs(runs, h, w)
    mask = must_pass("decode", attempt(sarle.decode, rle), rle)
    if not isinstance(mask, np.ndarray) or mask.dtype != np.bool_ or mask.shape != (h, w) \
            or not mask.flags.c_contiguous:
        fail(f"decode: {type(mask).__name__} {getattr(mask, 'dtype', '')} "
             f"{getattr(mask, 'shape', '')} for {short(rle)}")
    if not np.array_equal(mask, expected):
        fail(f"decode differs from the reference for {short(rle)}")
    if int(mask.sum()) != area:
        fail(f"area {area} != decoded sum {int(mask.sum())} for {short(rle)}")
    if numpy_bbox(mask) != box:
        fail(f"bbox {box} != numpy box {numpy_bbox(mask)} for {short(rle)}")
    check_canonical("encode(decode(r))", must_pass("encode", attempt(sarle.encode, mask), rle),
                    h, w, canon_text)
    fmask = must_pass("decode F", attempt(sarle.decode, rle, order="F"), rle)
    if not fmask.flags.f_contiguous or not np.array_equal(fmask, expected):
        fail(f"decode(order='F') differs for {short(rle)}")

    k = p.ConsumeIntInRange(0, 5)
    if k == 0:
        out = np.empty((h, w), dtype=p.PickValueInList([np.bool_, np.uint8]),
                       order=p.PickValueInList(["C", "F"]))
        value = must_pass("decode(out=)", attempt(sarle.decode, rle, out=out), rle)
        if value is not out or not np.array_equal(out != 0, expected):
            fail(f"decode(out=) differs for {short(rle)}")
    elif k == 1:   # a wrong out must be refused
        bad = p.PickValueInList([
            lambda: np.empty((h + 1, w), bool), lambda: np.empty((h, w), np.int32),
            lambda: [[0] * w] * h if h <= 256 else None,
            lambda: np.empty((h, w, 1), bool),
            lambda: np.empty((h, w), bool)[::-1] if h > 1 and w > 0 else None,
        ])()
        if bad is not None:
            must_fail("decode(bad out)", attempt(sarle.decode, rle, out=bad), rle)
    elif k == 2:
        stack = must_pass("decode batch", attempt(sarle.decode, [rle, rle, rle], threads=2), rle)
        if stack.shape != (3, h, w) or not all(np.array_equal(m, expected) for m in stack):
            fail(f"decode([r, r, r]) differs for {short(rle)}")
    if h * w and h <= SAMPLE_H_MAX:
        value = must_pass("label_map", attempt(sarle.label_map, rle), rle)
        if value.dtype != np.int32 or not np.array_equal(value, expected.astype(np.int32)):
            fail(f"label_map([r]) differs from the mask for {short(rle)}")
    check_sampling(p, rle, h, w, expected)


def _whole(value: Any) -> Any:
    """Mirror of codec._whole: an int, or ERROR."""
    if isinstance(value, (bool, np.bool_)):
        return ERROR
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    return ERROR


def gen_window(p: Provider, h: int, w: int) -> Any:
    k = p.ConsumeIntInRange(0, 9)
    if k < 6:
        x = p.ConsumeIntInRange(0, w)
        y = p.ConsumeIntInRange(0, h)
        return (x, y, p.ConsumeIntInRange(0, w - x), p.ConsumeIntInRange(0, h - y))
    if k == 6:   # possibly outside
        return [p.ConsumeIntInRange(-2, w + 2) for _ in range(4)]
    if k == 7:
        return np.array([0, 0, w, h], dtype=p.PickValueInList(_INT_DTYPES[:4]))
    if k == 8:
        return [float(0), 0.0, float(w), float(h) if p.ConsumeBool() else h - 0.5]
    return p.PickValueInList([(0, 0, w), (0, 0, w, h, 0), None, "0,0,1,1", (True, 0, 1, 1),
                              np.zeros((2, 2), int), (0, 0, math.nan, 1)])


def gen_out_size(p: Provider) -> Any:
    k = p.ConsumeIntInRange(0, 9)
    if k < 7:
        return (p.ConsumeIntInRange(0, 80), p.ConsumeIntInRange(0, 80))
    if k == 7:
        return np.array([p.ConsumeIntInRange(0, 40), p.ConsumeIntInRange(0, 40)], dtype=np.uint64)
    if k == 8:
        return [float(p.ConsumeIntInRange(0, 40)), p.ConsumeIntInRange(0, 40) + 0.5]
    return p.PickValueInList([(-1, 3), (3,), (2, 2, 2), None, (True, 2), "22", (2**40, 2**40)])


def expect_sampling(h: int, w: int, size: Any, scale: Any, crop: Any) -> Any:
    """(rows, cols) of the documented crop/resample, ERROR, or None (output too big to try)."""
    x, y, cw, ch = 0, 0, w, h
    if crop is not None:
        if np.ndim(crop) != 1 or len(crop) != 4:
            return ERROR
        values = [_whole(v) for v in crop]
        if ERROR in values:
            return ERROR
        x, y, cw, ch = values
        if min(values) < 0 or x + cw > w or y + ch > h:
            return ERROR
    if size is not None and scale is not None:
        return ERROR
    if scale is not None:
        if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.number)):
            return ERROR
        if not np.isfinite(scale) or scale <= 0:
            return ERROR
        h2, w2 = int(np.floor(ch * float(scale))), int(np.floor(cw * float(scale)))
    elif size is not None:
        if np.ndim(size) != 1 or len(size) != 2:
            return ERROR
        h2, w2 = _whole(size[0]), _whole(size[1])
        if ERROR in (h2, w2) or h2 < 0 or w2 < 0:
            return ERROR
    else:
        h2, w2 = ch, cw
    if (h2 and not ch) or (w2 and not cw):
        return ERROR
    if h2 * w2 > MAX_PIXELS:
        return ERROR
    if h2 * w2 and h > SAMPLED_ROWS_MAX:
        return ERROR
    if h2 * w2 > OUT_MAX or max(h2, w2) > 2**24:
        return None
    rows = y + sarle.nearest_indices(ch, h2)
    cols = x + sarle.nearest_indices(cw, w2)
    return rows, cols


def check_sampling(p: Provider, rle: Any, h: int, w: int, full: np.ndarray) -> None:
    crop = gen_window(p, h, w) if p.ConsumeBool() else None
    k = p.ConsumeIntInRange(0, 3)
    size = scale = None
    if k == 1:
        size = gen_out_size(p)
    elif k == 2:
        scale = p.PickValueInList([0.5, 1.0, 2.0, 1 / 3, 0.25, 3, 1.5, 0.1, 0.0, -1.0, math.nan,
                                   math.inf, True, "2", np.float32(0.75), 1e300, None])
    elif k == 3 and p.ConsumeBool():
        size, scale = (2, 2), 0.5
    if crop is None and size is None and scale is None:
        return
    expected = expect_sampling(h, w, size, scale, crop)
    if expected is None:
        return
    kwargs = dict(size=size, scale=scale, crop=crop)
    order = p.PickValueInList(["C", "F"])
    got = attempt(sarle.decode, rle, order=order, **kwargs)
    if expected == ERROR:
        must_fail(f"decode({kwargs})", got, rle)
        return
    rows, cols = expected
    want = full[np.ix_(rows, cols)] if rows.size and cols.size else np.zeros((rows.size, cols.size), bool)
    value = must_pass(f"decode({kwargs})", got, rle)
    if value.shape != want.shape or not np.array_equal(value, want):
        fail(f"decode({short(kwargs)}) is not full[rows][:, cols] for {short(rle)}: "
             f"got {value.astype(int).tolist()}, expected {want.astype(int).tolist()}")
    if order == "F" and value.size and not value.flags.f_contiguous:
        fail(f"decode({kwargs}, order='F') is not F-contiguous")
    if h * w and rows.size * cols.size:
        lm = must_pass("label_map(sampled)", attempt(sarle.label_map, [rle], **kwargs), rle)
        if not np.array_equal(lm, want.astype(np.int32)):
            fail(f"label_map({short(kwargs)}) differs from the sampled mask for {short(rle)}")


def check_invalid_single(p: Provider, rle: Any, size_exp: Any) -> None:
    """Every entry point refuses an invalid RLE with ValueError/TypeError."""
    for name, fn in (
        ("area", lambda: sarle.area(rle)),
        ("bbox", lambda: sarle.bbox(rle)),
        ("compress", lambda: sarle.compress(rle)),
        ("decompress", lambda: sarle.decompress(rle)),
        ("merge", lambda: sarle.merge(rle)),
        ("merge list", lambda: sarle.merge([rle, rle])),
        ("iou", lambda: sarle.iou(rle, rle)),
        ("iou list", lambda: sarle.iou([rle], [rle], [False])),
    ):
        must_fail(name, attempt(fn), rle)
    if size_exp in (ERROR, EITHER):
        must_fail("decode", attempt(sarle.decode, rle), rle)
        return
    h, w = size_exp
    # The counts are invalid: whatever the size, ValueError/TypeError, and for
    # big outputs before allocating them (see may_allocate).
    if may_allocate(h * w):
        must_fail("decode", attempt(sarle.decode, rle, order=p.PickValueInList(["C", "F"])), rle)
    if may_allocate(4 * h * w) and p.ConsumeBool():
        must_fail("label_map", attempt(sarle.label_map, [rle]), rle)
    if h <= SAMPLE_H_MAX or h > SAMPLED_ROWS_MAX:
        window = (0, 0, min(w, 1), min(h, 1)) if p.ConsumeBool() else (0, 0, 0, 0)
        must_fail(f"decode(crop={window})", attempt(sarle.decode, rle, crop=window), rle)


def check_either_single(rle: Any) -> None:
    """The contract allows an error or a result; a result must be self-consistent."""
    outcomes = {name: attempt(fn, rle) for name, fn in (
        ("area", sarle.area), ("bbox", sarle.bbox), ("compress", sarle.compress),
        ("decompress", sarle.decompress))}
    got = outcomes["decompress"]
    if got.ok and outcomes["compress"].ok:
        h, w = got.value["size"]
        runs = got.value["counts"]
        if sum(runs) != h * w or ref.canonical(runs) != runs:
            fail(f"decompress of {short(rle)} is not canonical: {short(got.value)}")
        if outcomes["compress"].value["counts"] != ref.string_from_runs(runs):
            fail(f"compress and decompress disagree for {short(rle)}")
        if outcomes["area"].ok and int(np.asarray(outcomes["area"].value).reshape(-1)[0]) != ref.area(runs):
            fail(f"area disagrees with decompress for {short(rle)}")


def mode_single(p: Provider) -> None:
    h, w = gen_dim(p), gen_dim(p)
    size = gen_size(p, h, w)
    total = h * w if 0 <= h * w <= MAX_PIXELS else p.ConsumeIntInRange(0, 64)
    counts = gen_counts(p, total)
    rle, well_formed = wrap_rle(p, size, counts)
    expected, size_exp = expect_rle(rle, well_formed)
    if expected == ERROR:
        check_invalid_single(p, rle, size_exp)
    elif expected == EITHER:
        check_either_single(rle)
    else:
        _, h, w, runs = expected
        check_valid_single(p, rle, h, w, runs)


# --------------------------------------------------------------------------- batches


def gen_item(p: Provider, h: int, w: int) -> Tuple[Any, Any, bool]:
    """One batch item of size (h, w) (mostly valid), its expectation and well-formedness."""
    k = p.ConsumeIntInRange(0, 9)
    if k < 6:
        runs = gen_valid_runs(p, h * w)
        text = ref.string_from_runs(runs)
        counts = text if p.ConsumeBool() else text.encode()
        rle, well_formed = {"size": [h, w], "counts": counts}, True
    elif k < 8:
        rle, well_formed = {"size": gen_size(p, h, w), "counts": gen_counts(p, h * w)}, True
    elif k == 8:
        rle, well_formed = {"size": [h, w + 1], "counts": ref.string_from_runs([h * (w + 1)])}, True
    else:
        rle, well_formed = wrap_rle(p, [h, w], gen_counts(p, h * w))
    expected, size_exp = expect_rle(rle, well_formed)
    return rle, expected, size_exp


def named_index(error: BaseException) -> Optional[int]:
    match = re.search(r"\bmask (\d+)\b", str(error))
    return int(match.group(1)) if match else None


def mode_batch(p: Provider) -> None:
    h, w = (p.ConsumeIntInRange(0, 16), p.ConsumeIntInRange(0, 16)) if p.ConsumeIntInRange(0, 3) \
        else (gen_dim(p), gen_dim(p))
    if not (0 <= h * w <= MAX_PIXELS and max(h, w) < 2**63):
        h, w = h % 17 if h >= 0 else 3, w % 17 if w >= 0 else 2
    n = p.ConsumeIntInRange(0, 5)
    items = [gen_item(p, h, w) for _ in range(n)]
    rles = [item[0] for item in items]
    exps = [item[1] for item in items]
    size_exps = [item[2] for item in items]
    form = p.ConsumeIntInRange(0, 5)
    structure_ok = True
    if form <= 2:
        batch: Any = rles
    elif form == 3:
        batch = tuple(rles)
    else:   # TFDS: counts strings + (n, 2) sizes
        if not all(isinstance(r, dict) and "counts" in r and "size" in r for r in rles):
            return
        counts = [r["counts"] for r in rles]
        sizes = [r["size"] for r in rles]
        if form == 4:
            array = np.empty(n, dtype=object)
            for i, c in enumerate(counts):
                array[i] = c
            counts_obj: Any = array
        else:
            counts_obj = list(counts)
        try:
            size_obj: Any = np.asarray(sizes, dtype=np.uint64) if p.ConsumeBool() else np.asarray(sizes)
        except (TypeError, ValueError, OverflowError):
            return
        if n == 0:
            size_obj = np.zeros((0, 2), dtype=np.uint64)
        if size_obj.ndim != 2 or size_obj.shape[1:] != (2,):
            return   # not a batch any more
        batch = {"counts": counts_obj, "size": size_obj}
        # TFDS items must be strings; sizes are read from the array rows
        exps, size_exps = [], []
        for i, c in enumerate(counts):
            exp, size_exp = expect_rle({"size": size_obj[i], "counts": c}, True)
            exps.append(exp if isinstance(c, (str, bytes)) else ERROR)
            size_exps.append(size_exp)
    check_batch(p, batch, exps, size_exps, structure_ok)


def check_batch(p: Provider, batch: Any, exps: List[Any], size_exps: List[Any], structure_ok: bool) -> None:
    n = len(exps)
    bad = [i for i, e in enumerate(exps) if e == ERROR]
    if any(e == EITHER for e in exps):
        attempt(sarle.area, batch)
        attempt(sarle.bbox, batch)
        return
    if bad:
        sizes = {s for s in size_exps if isinstance(s, tuple)}
        small = may_allocate(n * max([s[0] * s[1] for s in size_exps if isinstance(s, tuple)] or [0]))
        for name, fn in (("area", sarle.area), ("bbox", sarle.bbox), ("merge", sarle.merge),
                         ("decode", sarle.decode), ("iou", lambda b: sarle.iou(b, b))):
            if name == "decode" and not small:
                continue   # see may_allocate
            got = attempt(fn, batch)
            must_fail(f"{name}(batch)", got, batch)
            if structure_ok and name != "iou" and isinstance(got.error, _common.ALLOWED):
                index = named_index(got.error)
                mismatch = len(sizes) > 1 or EITHER in size_exps   # a huge size counts as another size
                allowed = set(bad) | (set(range(n)) if mismatch else set())
                if index not in allowed:
                    fail(f"{name}(batch) error names mask {index}, bad masks are {bad}: {got.error}")
        return
    runs_list = [e[3] for e in exps]
    sizes = [(e[1], e[2]) for e in exps]
    areas = must_pass("area(batch)", attempt(sarle.area, batch), batch)
    if not isinstance(areas, np.ndarray) or areas.dtype != np.uint64 or areas.shape != (n,) \
            or areas.tolist() != [ref.area(r) for r in runs_list]:
        fail(f"area(batch) = {short(areas)}, expected {[ref.area(r) for r in runs_list]}")
    boxes = must_pass("bbox(batch)", attempt(sarle.bbox, batch), batch)
    want = [[float(v) for v in ref.bbox(r, hh, ww)] for r, (hh, ww) in zip(runs_list, sizes)]
    if not isinstance(boxes, np.ndarray) or boxes.shape != (n, 4) or boxes.tolist() != want:
        fail(f"bbox(batch) = {short(boxes)}, expected {want}")
    if len(set(sizes)) > 1:
        for name, fn in (("merge", sarle.merge), ("decode", sarle.decode),
                         ("iou", lambda b: sarle.iou(b, b))):
            must_fail(f"{name}(mixed sizes)", attempt(fn, batch), batch)
        return
    if n == 0:
        if structure_ok:
            must_fail("merge([])", attempt(sarle.merge, batch), batch)
            must_fail("label_map([])", attempt(sarle.label_map, batch), batch)
            value = must_pass("iou([], [])", attempt(sarle.iou, batch, batch), batch)
            if value.shape != (0, 0):
                fail(f"iou([], []) has shape {value.shape}")
        return
    h, w = sizes[0]
    for intersect in (False, True):
        value = must_pass("merge(batch)", attempt(sarle.merge, batch, intersect), batch)
        check_canonical(f"merge(batch, {intersect})", value, h, w,
                        ref.string_from_runs(ref.merge(runs_list, intersect)))
    crowd = [p.ConsumeBool() for _ in range(n)]
    value = must_pass("iou(batch)", attempt(sarle.iou, batch, batch, crowd), batch)
    want_iou = ref.iou(runs_list, runs_list, crowd)
    big = h * w >= 2**53
    if value.shape != (n, n) or not all(
            same_float(float(a), float(b), big) for a, b in zip(value.ravel(), want_iou.ravel())):
        fail(f"iou(batch, batch, {crowd}) = {value.tolist()}, reference {want_iou.tolist()}")
    if n * h * w > OUT_MAX or max(h, w) > SAMPLE_H_MAX:
        return
    masks = [ref.mask_from_runs(r, h, w) for r in runs_list]
    order = p.PickValueInList(["C", "F"])
    threads = p.PickValueInList([None, 1, 2, 3])
    stack = must_pass("decode(batch)", attempt(sarle.decode, batch, order=order, threads=threads), batch)
    if stack.shape != (n, h, w) or not all(np.array_equal(a, b) for a, b in zip(stack, masks)):
        fail(f"decode(batch, order={order}) differs from its items")
    if h * w == 0 or h > SAMPLE_H_MAX:
        return
    paint = p.PickValueInList(["index", "area"])
    dtype = p.PickValueInList([np.int32, np.uint16, np.uint8])
    value = must_pass("label_map", attempt(sarle.label_map, batch, paint=paint, dtype=dtype), batch)
    areas_list = [ref.area(r) for r in runs_list]
    paint_order = sorted(range(n), key=lambda i: -areas_list[i]) if paint == "area" else range(n)
    want_map = np.zeros((h, w), dtype=dtype)
    for i in paint_order:
        want_map[masks[i]] = i + 1
    if value.dtype != np.dtype(dtype) or not np.array_equal(value, want_map):
        fail(f"label_map(paint={paint}) = {value.tolist()}, expected {want_map.tolist()}")


# --------------------------------------------------------------------------- encode


def gen_mask(p: Provider) -> Any:
    ndim = p.PickValueInList([2, 2, 2, 3, 3, 1, 4, 0])
    shape = [p.ConsumeIntInRange(0, 20 if ndim <= 2 else 3) for _ in range(ndim)]
    dtype = p.PickValueInList([np.bool_, np.uint8, np.uint8, np.int8, np.uint16, np.int16,
                               np.int32, np.int64, np.uint64, np.float32, np.float64, object,
                               np.complex64, "U1"])
    count = int(np.prod(shape)) if shape else 1
    itemsize = np.dtype(dtype).itemsize if dtype not in (object, "U1") else 1
    raw = p.ConsumeBytes(count * itemsize)
    raw = raw + bytes(count * itemsize - len(raw))
    if dtype is object:
        array = np.array([b % 3 for b in raw], dtype=object).reshape(shape)
    elif dtype == "U1":
        array = np.array([chr(48 + b % 2) for b in raw]).reshape(shape)
    else:
        array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    layout = p.ConsumeIntInRange(0, 7)
    if array.ndim >= 2:
        if layout == 1:
            array = np.asfortranarray(array)
        elif layout == 2:
            array = np.swapaxes(array, -1, -2)
        elif layout == 3:
            array = array[..., ::2, :]
        elif layout == 4:
            array = array[..., ::-1, ::-1]
        elif layout == 5 and array.ndim == 3:
            array = array.transpose(1, 0, 2)
        elif layout == 6:
            array = np.broadcast_to(array[..., :1, :], array.shape)
        elif layout == 7:
            return array.tolist()
    return array


def mode_encode(p: Provider) -> None:
    mask = gen_mask(p)
    threads = p.PickValueInList([None, 1, 2])
    got = attempt(sarle.encode, mask, threads=threads)
    array = np.asarray(mask)
    valid = array.ndim in (2, 3) and array.dtype.kind in "biu"
    if not valid:
        must_fail("encode", got, mask)
        return
    value = must_pass("encode", got, mask)
    stack = array if array.ndim == 3 else array[None]
    if stack.dtype.itemsize == 1:
        binary = stack.view(np.uint8) != 0
    else:
        binary = stack != 0
    results = value if array.ndim == 3 else [value]
    if not isinstance(results, list) or len(results) != stack.shape[0]:
        fail(f"encode of shape {array.shape} gave {short(value)}")
    for m, result in zip(binary, results):
        hh, ww = m.shape
        check_canonical("encode", result, hh, ww, ref.string_from_runs(ref.runs_from_mask(m)))
        back = must_pass("decode(encode)", attempt(sarle.decode, result), result)
        if not np.array_equal(back, m):
            fail(f"decode(encode(m)) != m for {m.astype(int).tolist()}")


# --------------------------------------------------------------------------- polygons


def mode_polygon(p: Provider) -> None:
    h, w = gen_small_dims(p)
    if p.ConsumeIntInRange(0, 7) == 0:
        h, w = p.PickValueInList([(-1, 3), (True, 3), (2.5, 3), ("3", 3), (2**40, 2**40)])
        for fn, arg in ((sarle.from_bbox, [0, 0, 1, 1]), (sarle.from_polygon, [0, 0, 1, 0, 1, 1])):
            must_fail(f"{fn.__name__}(size {h}x{w})", attempt(fn, arg, h, w), arg)
        return
    moderate = p.ConsumeIntInRange(0, 3) > 0

    def coordinate() -> float:
        if moderate:
            return p.ConsumeIntInRange(-8 * 4, 20 * 4) / 4.0
        return p.ConsumeFloat()

    if p.ConsumeBool():
        n = p.ConsumeIntInRange(0, 3)
        boxes = [[coordinate() for _ in range(4)] for _ in range(n)]
        arg: Any = boxes[0] if n == 1 and p.ConsumeBool() else boxes
        got = attempt(sarle.from_bbox, arg, h, w)
        finite = all(math.isfinite(v) for b in boxes for v in b)
        if not finite or n == 0:
            if not finite:
                must_fail("from_bbox(non-finite)", got, arg)
            return
        if any(abs(v) > 2**40 for x, y, bw, bh in boxes for v in (x, y, x + bw, y + bh)):
            return   # beyond the rasteriser's coordinate limit: refused or drawn, both fine
        value = must_pass("from_bbox", got, arg)
        results = [value] if isinstance(value, dict) else value
        check_rasterised("from_bbox", results, h, w,
                         lambda: coco_mask.frPyObjects(np.array(boxes, dtype=np.float64), h, w)
                         if moderate and h and w else None)
        return
    polygons = []
    for _ in range(p.ConsumeIntInRange(0, 3)):
        polygons.append([coordinate() for _ in range(2 * p.ConsumeIntInRange(0, 6))])
    if p.ConsumeIntInRange(0, 5) == 0 and polygons:
        polygons[0] = polygons[0] + [1.0]   # odd length
    arg = polygons[0] if len(polygons) == 1 and p.ConsumeBool() else polygons
    got = attempt(sarle.from_polygon, arg, h, w)
    valid = bool(polygons) and all(
        len(poly) >= 6 and len(poly) % 2 == 0 and all(math.isfinite(v) and abs(v) <= 2**40 for v in poly)
        for poly in polygons)
    if not valid:
        must_fail("from_polygon", got, arg)
        return
    value = must_pass("from_polygon", got, arg)
    check_rasterised("from_polygon", [value], h, w,
                     lambda: [coco_mask.merge(coco_mask.frPyObjects(polygons, h, w))]
                     if moderate and h and w else None)


def check_rasterised(what: str, results: List[Any], h: int, w: int, oracle: Any) -> None:
    for result in results:
        if not isinstance(result, dict) or result.get("size") != [h, w] or type(result.get("counts")) is not str:
            fail(f"{what}: not an RLE of size [{h}, {w}]: {short(result)}")
        try:
            runs = ref.runs_from_string(result["counts"])
        except ValueError as error:
            fail(f"{what}: malformed counts {result['counts']!r}: {error}")
        if sum(runs) != h * w or ref.string_from_runs(ref.canonical(runs)) != result["counts"]:
            fail(f"{what}: counts {result['counts']!r} are not canonical for [{h}, {w}]")
    if coco_mask is None:
        return
    want = oracle()
    if want is None:
        return
    for result, expected in zip(results, want):
        counts = expected["counts"].decode() if isinstance(expected["counts"], bytes) else expected["counts"]
        mine = ref.mask_from_runs(ref.runs_from_string(result["counts"]), h, w)
        theirs = ref.mask_from_runs(ref.runs_from_string(counts), h, w)
        if not np.array_equal(mine, theirs):
            fail(f"{what}: differs from pycocotools: {result['counts']!r} vs {counts!r}")


# --------------------------------------------------------------------------- entry point

MODES = (mode_single, mode_single, mode_single, mode_batch, mode_batch, mode_encode, mode_polygon)


def check_codec(data: bytes) -> None:
    """The whole test of one fuzz input (raises Finding or an unexpected exception)."""
    p = Provider(data)
    mode = MODES[p.ConsumeIntInRange(0, len(MODES) - 1)]
    with np.errstate(all="ignore"):
        mode(p)

