"""Input handling: every form a user may hand us, turned into what kernels take.

The kernels in ``_rle.pyx`` see only ``(counts, h, w)`` triples where
``counts`` is an ASCII ``str`` or exact ``bytes`` (a compressed string, read
in place) or a C-contiguous ``int64`` array (uncompressed runs), and ``h``, ``w`` are Python ints with
``h * w <= MAX_PIXELS``. Everything else (dict keys, str vs bytes, numpy
scalars, TFDS batch dicts, sizes of any integer dtype) is checked here, and
every error says what is wrong and, in a batch, at which index.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from typing import Any, List, Tuple, Union

import numpy as np

#: Largest ``h * w`` accepted: keeps every 64-bit sum in the kernels exact.
MAX_PIXELS = 2**62

Counts = Union[str, bytes, np.ndarray]
Parsed = Tuple[Counts, int, int]


def _prefix(index: int | None) -> str:
    return "" if index is None else f"mask {index}: "


def _dimension(value: Any, name: str, index: int | None) -> int:
    where = _prefix(index)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where}size {name} must be an integer, got {value!r}")
    if isinstance(value, (int, np.integer)):
        number = int(value)
    elif isinstance(value, (float, np.floating)):
        if not np.isfinite(value) or not float(value).is_integer():
            raise ValueError(f"{where}size {name} must be a whole number, got {value!r}")
        number = int(value)
    else:
        raise TypeError(
            f"{where}size {name} must be an integer, got {type(value).__name__} {value!r}"
        )
    if number < 0:
        raise ValueError(f"{where}size {name} must not be negative, got {number}")
    return number


def parse_size(size: Any, index: int | None = None) -> Tuple[int, int]:
    """``[h, w]`` (list, tuple or array of any integer dtype) -> ``(h, w)``."""
    if type(size) is list and len(size) == 2:
        # Fast path: what json.load gives.
        h, w = size
        if (
            type(h) is int and type(w) is int and 0 <= h <= MAX_PIXELS and 0 <= w <= MAX_PIXELS
            and h * w <= MAX_PIXELS
        ):
            return h, w
    where = _prefix(index)
    if isinstance(size, np.ndarray):
        if size.ndim != 1:
            raise ValueError(f"{where}size must be [h, w], got an array of shape {size.shape}")
    elif not isinstance(size, (list, tuple)):
        raise TypeError(
            f"{where}size must be a [h, w] list, tuple or array, got {type(size).__name__}"
        )
    if len(size) != 2:
        raise ValueError(f"{where}size must be [h, w], got {len(size)} values: {size!r}")
    h = _dimension(size[0], "h", index)
    w = _dimension(size[1], "w", index)
    if h > MAX_PIXELS or w > MAX_PIXELS:  # an empty [h, 0] mask too: kernels index rows in int64
        raise ValueError(f"{where}size {h}x{w}: a side longer than sarle's limit of 2**62")
    if h * w > MAX_PIXELS:
        raise ValueError(
            f"{where}size {h}x{w} has {h * w} pixels, more than sarle's limit of 2**62"
        )
    return h, w


def _runs_array(counts: Any, where: str) -> np.ndarray:
    """Validate an uncompressed run list and return it as C-contiguous int64."""
    if isinstance(counts, np.ndarray):
        array = counts
    else:
        for i, item in enumerate(counts):
            if isinstance(item, (bool, np.bool_)):
                raise TypeError(f"{where}counts: run length at index {i} is a bool, not an integer")
        try:
            array = np.asarray(counts)
        except (ValueError, OverflowError) as error:
            raise ValueError(f"{where}counts: not a flat list of run lengths ({error})") from None
    if array.ndim != 1:
        raise ValueError(
            f"{where}counts must be a compressed string or a flat list of run lengths, "
            f"got an array of shape {array.shape}"
        )
    kind = array.dtype.kind
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if kind == "i":
        negative = np.flatnonzero(array < 0)
        if negative.size:
            i = int(negative[0])
            raise ValueError(f"{where}counts: negative run length {int(array[i])} at index {i}")
        return np.ascontiguousarray(array, dtype=np.int64)
    if kind == "u":
        if array.dtype.itemsize == 8:
            big = np.flatnonzero(array > np.uint64(MAX_PIXELS))
            if big.size:
                i = int(big[0])
                raise ValueError(
                    f"{where}counts: run length {int(array[i])} at index {i} exceeds 2**62"
                )
        return np.ascontiguousarray(array, dtype=np.int64)
    if kind == "f":
        bad = np.flatnonzero(~np.isfinite(array) | (array != np.floor(array)))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"{where}counts: run length {float(array[i])!r} at index {i} is not whole"
            )
        negative = np.flatnonzero(array < 0)
        if negative.size:
            i = int(negative[0])
            raise ValueError(
                f"{where}counts: negative run length {float(array[i])!r} at index {i}"
            )
        if array.max() > MAX_PIXELS:
            i = int(np.argmax(array))
            raise ValueError(
                f"{where}counts: run length {float(array[i])!r} at index {i} exceeds 2**62"
            )
        return array.astype(np.int64)
    if kind == "O":
        values = []
        for i, item in enumerate(array):
            if isinstance(item, (bool, np.bool_)):
                raise TypeError(f"{where}counts: run length at index {i} is a bool")
            try:
                value = operator.index(item)
            except TypeError:
                raise TypeError(
                    f"{where}counts: run length at index {i} must be an integer, "
                    f"got {type(item).__name__}"
                ) from None
            if value < 0:
                raise ValueError(f"{where}counts: negative run length {value} at index {i}")
            if value > MAX_PIXELS:
                raise ValueError(f"{where}counts: run length {value} at index {i} exceeds 2**62")
            values.append(value)
        return np.array(values, dtype=np.int64)
    raise TypeError(
        f"{where}counts list must hold integers, got {array.dtype} values"
    )


def parse_counts(counts: Any, index: int | None = None) -> Counts:
    """A counts value -> ASCII ``str`` or exact ``bytes`` (compressed), or int64 runs."""
    if type(counts) is str or type(counts) is bytes:
        if type(counts) is bytes or counts.isascii():
            return counts
    where = _prefix(index)
    if isinstance(counts, str):
        if counts.isascii():
            return str(counts)   # e.g. numpy.str_ from a "U" array: the kernel takes exact str
        # Not ASCII: report the first character outside the alphabet, as the
        # kernel would for bytes.
        for i, char in enumerate(counts):
            if not "0" <= char <= "o":
                kind = " (non-ASCII)" if ord(char) > 127 else ""
                raise ValueError(
                    f"{where}counts: invalid character {char!r}{kind} at position {i}; "
                    "COCO counts strings use only '0'..'o'"
                )
    if isinstance(counts, (bytes, bytearray)):
        return bytes(counts)
    if isinstance(counts, memoryview):
        if counts.format in ("B", "b", "c") and counts.ndim == 1:
            return counts.tobytes()
        return _runs_array(np.asarray(counts), where)
    if isinstance(counts, (list, tuple, np.ndarray)):
        return _runs_array(counts, where)
    raise TypeError(
        f"{where}counts must be a str or bytes compressed string or a list of run "
        f"lengths, got {type(counts).__name__}"
    )


def parse_rle(rle: Any, index: int | None = None) -> Parsed:
    """One RLE dict -> ``(counts, h, w)``."""
    if type(rle) is dict and "size" in rle and "counts" in rle:
        h, w = parse_size(rle["size"], index)
        return parse_counts(rle["counts"], index), h, w
    where = _prefix(index)
    if not isinstance(rle, Mapping):
        raise TypeError(
            f"{where}expected an RLE dict with 'size' and 'counts', got {type(rle).__name__}"
        )
    for key in ("size", "counts"):
        if key not in rle:
            raise ValueError(f"{where}RLE dict is missing the {key!r} key")
    h, w = parse_size(rle["size"], index)
    return parse_counts(rle["counts"], index), h, w


def is_batch(obj: Any) -> bool:
    """True for a list/tuple of RLEs or a TFDS batch dict, False for one RLE."""
    if isinstance(obj, Mapping):
        size = obj.get("size")
        if type(size) is list:
            return bool(size) and isinstance(size[0], (list, tuple, np.ndarray))
        return np.ndim(size) == 2
    if isinstance(obj, (list, tuple)):
        return True
    raise TypeError(
        "expected an RLE dict, a list of RLE dicts or a TFDS batch dict "
        f"({{'counts': [n strings], 'size': (n, 2)}}), got {type(obj).__name__}"
    )


def parse_batch(obj: Any) -> List[Parsed]:
    """A list/tuple of RLE dicts or a TFDS batch dict -> list of triples."""
    if isinstance(obj, Mapping):
        if "counts" not in obj:
            raise ValueError("batch RLE dict is missing the 'counts' key")
        sizes = np.asarray(obj["size"])
        counts = obj["counts"]
        if isinstance(counts, Mapping) or not isinstance(counts, (Sequence, np.ndarray)):
            raise TypeError(
                f"batch RLE dict: 'counts' must be a sequence or array of n strings,"
                f" got {type(counts).__name__}"
            )
        if isinstance(counts, (str, bytes)):
            raise TypeError(
                "batch RLE dict: 'size' is (n, 2) but 'counts' is a single string"
            )
        if sizes.ndim != 2 or sizes.shape[1] != 2:
            raise ValueError(f"batch RLE dict: 'size' must have shape (n, 2), got {sizes.shape}")
        if len(counts) != sizes.shape[0]:
            raise ValueError(
                f"batch RLE dict: {len(counts)} counts but {sizes.shape[0]} sizes"
            )
        parsed = []
        for i in range(sizes.shape[0]):
            item = counts[i]
            if not isinstance(item, (str, bytes)):
                raise TypeError(
                    f"mask {i}: batch counts must be str or bytes strings, "
                    f"got {type(item).__name__}"
                )
            h, w = parse_size(sizes[i], i)
            parsed.append((parse_counts(item, i), h, w))
        return parsed
    parsed = []
    for i, rle in enumerate(obj):
        # Fast path for what json.load gives, {"size": [h, w], "counts": ASCII str}:
        # the same checks as parse_rle's, inlined (about a third of area() on an
        # SA-1B image went into these calls). Anything else goes through parse_rle.
        if type(rle) is dict:
            size, counts = rle.get("size"), rle.get("counts")
            if type(size) is list and len(size) == 2 and type(counts) is str and counts.isascii():
                h, w = size
                if (
                    type(h) is int and type(w) is int and 0 <= h <= MAX_PIXELS
                    and 0 <= w <= MAX_PIXELS and h * w <= MAX_PIXELS
                ):
                    parsed.append((counts, h, w))
                    continue
        parsed.append(parse_rle(rle, i))
    return parsed


def common_size(parsed: List[Parsed], what: str = "mask") -> Tuple[int, int]:
    """The one ``(h, w)`` all masks share; a clear error names the first misfit."""
    h, w = parsed[0][1], parsed[0][2]
    for i, (_, hi, wi) in enumerate(parsed):
        if hi != h or wi != w:
            raise ValueError(
                f"{what} {i} has size [{hi}, {wi}] but {what} 0 has size [{h}, {w}]; "
                "all masks must have the same size"
            )
    return h, w


def as_mask_array(mask: Any) -> np.ndarray:
    """Validate a mask for encoding; returns an array of 1-byte items."""
    array = np.asarray(mask)
    if array.ndim not in (2, 3):
        raise ValueError(f"mask must be 2-D (h, w) or 3-D (n, h, w), got {array.ndim}-D")
    kind = array.dtype.kind
    if kind == "b":
        return array
    if kind in "iu":
        if array.dtype.itemsize == 1:
            return array
        return array != 0
    raise TypeError(
        f"mask must be bool or an integer dtype, got {array.dtype}; "
        "convert it explicitly, e.g. mask != 0"
    )


def polygon_coordinates(polygon: Any, index: int, min_points: int = 3) -> np.ndarray:
    """One polygon (flat ``[x0, y0, x1, y1, ...]`` or ``(k, 2)``) as contiguous float64."""
    try:
        xy = np.asarray(polygon, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"polygon {index} must be a sequence of numbers") from None
    if xy.ndim == 2 and xy.shape[1] == 2:
        xy = xy.reshape(-1)
    if xy.ndim != 1:
        raise ValueError(
            f"polygon {index} must be flat [x0, y0, x1, y1, ...] or (k, 2), got shape {xy.shape}"
        )
    if xy.shape[0] % 2:
        raise ValueError(
            f"polygon {index} has an odd number of coordinates ({xy.shape[0]}); "
            "pycocotools silently drops the last one"
        )
    if xy.shape[0] < 2 * min_points:
        raise ValueError(
            f"polygon {index} has {xy.shape[0] // 2} points; it needs at least {min_points}"
        )
    if not np.all(np.isfinite(xy)):
        raise ValueError(f"polygon {index} has a non-finite coordinate")
    return np.ascontiguousarray(xy)
