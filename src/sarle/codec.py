"""sarle's public codec: decode, encode, area, bbox, iou, merge and friends.

Every function takes RLEs as SA-1B, COCO, pycocotools and TFDS give them:
``{"size": [h, w], "counts": ...}`` with ``counts`` a compressed string
(``str`` or ``bytes``) or an uncompressed run list, ``size`` a list, tuple or
array of any integer dtype. Functions that take several masks accept a list
or tuple of such dicts, or a TFDS batch dict whose ``counts`` holds ``n``
strings and whose ``size`` is an ``(n, 2)`` array.

Output strings are canonical: sarle never writes zero-length interior runs,
so two masks are equal exactly when their strings are, and every string is
byte-identical to what ``pycocotools.mask.encode`` gives for the same mask.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _inputs
from . import _pool
from . import _rle
from ._threads import resolve_threads, run_slices

RLE = Dict[str, Any]

__all__ = [
    "area",
    "bbox",
    "compress",
    "decode",
    "decompress",
    "encode",
    "from_bbox",
    "from_polygon",
    "iou",
    "label_map",
    "merge",
    "nearest_indices",
    "output_pool_info",
    "set_output_pool_limit",
]


def _rle_dict(h: int, w: int, counts: Any) -> RLE:
    return {"size": [h, w], "counts": counts}


def _flat_bytes(array: np.ndarray, c_order: bool) -> np.ndarray:
    """The 1-D uint8 view of a (…, h, w) output in the layout a kernel writes."""
    if not c_order:
        array = np.swapaxes(array, -1, -2)   # F blocks are C-contiguous (…, w, h)
    return array.reshape(-1).view(np.uint8)


def _check_out(out: Any, shape: tuple, dtypes: tuple = (np.bool_, np.uint8)) -> bool:
    """Validate a caller's output array; returns True for row-major blocks."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.dtype not in dtypes:
        names = " or ".join(np.dtype(d).name for d in dtypes)
        raise TypeError(f"out must have dtype {names}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, expected {shape}")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if out.flags.c_contiguous:
        return True
    if np.swapaxes(out, -1, -2).flags.c_contiguous:
        return False
    raise ValueError(
        "out must be C-contiguous, or F-contiguous per mask "
        "((h, w) F-order, or (n, h, w) with strides (h*w, 1, h))"
    )


def nearest_indices(n_in: int, n_out: int) -> np.ndarray:
    """Source index of each output index of a nearest-neighbour resample.

    Exactly PyTorch's ``interpolate(mode="nearest")`` for an output size:
    ``min(floor(i * s), n_in - 1)`` with ``s = float32(n_in) / n_out`` and the
    product taken in float32 (identity when ``n_out == n_in``, ``i // 2``
    when ``n_out == 2 * n_in``). This is also what ``cv2.resize`` with
    ``INTER_NEAREST`` computes, up to its own float rounding.

    Examples
    --------
    >>> import sarle
    >>> sarle.nearest_indices(10, 4).tolist()
    [0, 2, 5, 7]
    """
    if n_out < 0 or n_in < 0:
        raise ValueError(f"sizes must not be negative, got {n_in} -> {n_out}")
    if n_out == n_in or n_out == 0:
        return np.arange(n_out, dtype=np.int64)
    if n_in == 0:
        raise ValueError(f"cannot resample 0 pixels to {n_out}")
    if n_out == 2 * n_in:
        return np.arange(n_out, dtype=np.int64) >> 1
    scale = np.float32(n_in) / np.float32(n_out)
    index = np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(np.int64)
    return np.minimum(index, n_in - 1)


def _whole(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return int(value)
    raise (ValueError if isinstance(value, (float, np.floating)) else TypeError)(
        f"{what} must be a whole number, got {value!r}"
    )


#: Crops and resamples index the source rows (8 bytes each): taller masks are refused.
_MAX_SAMPLED_ROWS = 1 << 27

#: Outputs at least this large (bytes) are allocated only after the counts parse:
#: a malformed RLE with a huge size is a ValueError, not a MemoryError.
_CHECK_BEFORE_ALLOCATING = 1 << 26


def _sampling(h: int, w: int, size: Any, scale: Any, crop: Any):
    """``(src_col, row_first, h2, w2)`` of a crop and/or resample, or None.

    The index arrays are None when the output is empty.
    """
    if size is None and scale is None and crop is None:
        return None
    x, y, cw, ch = 0, 0, w, h
    if crop is not None:
        if np.ndim(crop) != 1 or len(crop) != 4:
            raise ValueError(f"crop must be (x, y, w, h), got {crop!r}")
        x, y, cw, ch = (_whole(v, "crop " + name) for v, name in zip(crop, "xywh"))
        if min(x, y, cw, ch) < 0 or x + cw > w or y + ch > h:
            raise ValueError(f"crop {[x, y, cw, ch]} is not inside the {h}x{w} mask")
    if size is not None and scale is not None:
        raise ValueError("give size or scale, not both")
    if scale is not None:
        if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, (int, float, np.number)):
            raise TypeError(f"scale must be a number, got {scale!r}")
        if not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"scale must be positive and finite, got {scale!r}")
        h2, w2 = int(np.floor(ch * float(scale))), int(np.floor(cw * float(scale)))
    elif size is not None:
        if np.ndim(size) != 1 or len(size) != 2:
            raise ValueError(f"size must be (h, w), got {size!r}")
        h2, w2 = _whole(size[0], "size h"), _whole(size[1], "size w")
        if h2 < 0 or w2 < 0:
            raise ValueError(f"size must not be negative, got {[h2, w2]}")
    else:
        h2, w2 = ch, cw
    if (h2 and not ch) or (w2 and not cw):
        raise ValueError(f"cannot resample an empty {ch}x{cw} window to {h2}x{w2}")
    if h2 * w2 > _inputs.MAX_PIXELS:
        raise ValueError(f"output size {h2}x{w2} is larger than sarle's limit of 2**62 pixels")
    if h2 * w2 == 0:
        return None, None, h2, w2  # nothing to sample: no index arrays
    if h > _MAX_SAMPLED_ROWS:
        raise ValueError(
            f"crop, size and scale need an index of the mask's {h} rows; sarle samples masks"
            f" of at most 2**27 rows (decode it whole, or crop its RLE first)"
        )
    rows = y + nearest_indices(ch, h2)
    cols = np.ascontiguousarray(x + nearest_indices(cw, w2), dtype=np.int64)
    row_first = np.searchsorted(rows, np.arange(h + 1), side="left").astype(np.int64)
    return cols, row_first, h2, w2


#: Pixels a thread should get at least before a batch is split (about 20 µs of work).
_PIXELS_PER_SLICE = 1 << 20


def _min_slice(pixels_per_item: int) -> int:
    return max(1, -(-_PIXELS_PER_SLICE // max(1, pixels_per_item)))


def decode(
    rle: Any,
    *,
    order: str = "C",
    out: Optional[np.ndarray] = None,
    threads: Optional[int] = None,
    size: Optional[Sequence[int]] = None,
    scale: Optional[float] = None,
    crop: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """Decode one RLE to an ``(h, w)`` bool mask, or many to ``(n, h, w)``.

    Parameters
    ----------
    rle : dict, list of dicts or TFDS batch dict
        ``{"size": [h, w], "counts": str | bytes | list}``. A list or tuple
        of dicts of one size, or ``{"counts": [n strings], "size": (n, 2)}``
        (TFDS ``segment_anything``), decodes to ``(n, h, w)``.
    order : {"C", "F"}
        Memory layout of each mask. ``"C"`` (default) is row-major, what
        numpy, torch and cv2 expect; ``"F"`` is column-major like
        pycocotools. A batch with ``order="F"`` has strides ``(h*w, 1, h)``:
        ``out.transpose(1, 2, 0)`` is pycocotools' ``(h, w, n)`` array.
    out : ndarray, optional
        Array to write into: bool or uint8, the result's shape, C-contiguous
        or F-contiguous per mask (its layout wins over ``order``). It is
        overwritten entirely; on error its contents are unspecified. A
        batch of 16 MiB or more is written with non-temporal stores, which
        skip reading each cache line from memory before writing it (about
        half the memory traffic); the result is then in memory, not in cache.
    threads : int, optional
        Threads for a batch (default: every available core). The kernels
        release the GIL; the result does not depend on the thread count.
    crop : (x, y, w, h), optional
        Decode only this window (e.g. SA-1B's ``crop_box``), straight from
        the runs; it must lie inside the mask.
    size : (h2, w2), optional
        Nearest-neighbour resample of the mask (or of the crop) to this size,
        computed from the runs without the full mask: exactly
        ``mask[rows][:, cols]`` with ``rows = nearest_indices(h, h2)`` and
        ``cols = nearest_indices(w, w2)``, which is what
        ``torch.nn.functional.interpolate(mode="nearest", size=(h2, w2))``
        gives.
    scale : float, optional
        Shorthand for ``size = (floor(h * scale), floor(w * scale))``.

    Returns
    -------
    ndarray of bool
        ``out`` when given. An empty list gives shape ``(0, 0, 0)``, or
        ``(0, h2, w2)`` when ``size`` is given. A new result of 16 MiB or
        more takes the memory of a freed one where the output pool holds it
        (``set_output_pool_limit``).

    Raises
    ------
    ValueError, TypeError
        Malformed input, with the character position and (in a batch) the
        mask index.

    Examples
    --------
    >>> import sarle
    >>> rle = {"size": [3, 4], "counts": "42102"}
    >>> sarle.decode(rle).astype(int)
    array([[0, 0, 0, 0],
           [0, 1, 1, 0],
           [0, 1, 1, 0]])
    >>> sarle.decode([rle, rle]).shape
    (2, 3, 4)
    >>> sarle.decode(rle, order="F").flags.f_contiguous
    True
    >>> sarle.decode(rle, crop=(1, 1, 2, 2)).astype(int)
    array([[1, 1],
           [1, 1]])
    >>> int(sarle.decode(rle, size=(6, 8)).sum())
    16
    """
    if out is None and size is None and scale is None and crop is None and type(rle) is dict:
        # Fast path for the commonest call, one json.load-style dict decoded whole
        # into a fresh array. Anything it does not take (and every error but a
        # malformed string) goes the general way below.
        hw = rle.get("size")
        counts = rle.get("counts")
        if (
            type(hw) is list and len(hw) == 2
            and (type(counts) is bytes or (type(counts) is str and counts.isascii()))
            and (order == "C" or order == "F")
            and (threads is None or (type(threads) is int and threads > 0))
        ):
            h, w = hw
            if (type(h) is int and type(w) is int and h > 0 and w > 0
                    and h * w < _CHECK_BEFORE_ALLOCATING):
                return _rle.decode_new(counts, h, w, order == "C")
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    threads = resolve_threads(threads)
    if _inputs.is_batch(rle):
        parsed = _inputs.parse_batch(rle)
        if not parsed:
            shape = (0, 0, 0)
            if size is not None and crop is None:
                shape = (0, _whole(size[0], "size h"), _whole(size[1], "size w"))
            if out is not None:
                _check_out(out, shape)
                return out
            return np.zeros(shape, dtype=bool)
        h, w = _inputs.common_size(parsed)
        batch = True
    else:
        parsed = [_inputs.parse_rle(rle)]
        h, w = parsed[0][1], parsed[0][2]
        batch = False
    view = _sampling(h, w, size, scale, crop)
    out_h, out_w = (h, w) if view is None else (view[2], view[3])
    shape = (len(parsed), out_h, out_w) if batch else (out_h, out_w)
    pixels = out_h * out_w
    if (out is None and len(parsed) * pixels >= _CHECK_BEFORE_ALLOCATING) or pixels == 0:
        _stats(parsed, batch, False, threads)  # malformed counts: ValueError before allocating
    if out is None:
        c_order = order == "C"
        memory, zeroed = _pool.take(len(parsed) * pixels)
        if c_order:
            result = memory.view(bool).reshape(shape)
        else:
            result = np.swapaxes(memory.view(bool).reshape(shape[:-2] + (out_w, out_h)), -1, -2)
    else:
        c_order = _check_out(out, shape)
        result = out
        zeroed = False
    counts = [p[0] for p in parsed]
    flat = _flat_bytes(result, c_order)
    if pixels == 0:
        return result

    if view is None:
        def work(start: int, stop: int) -> None:
            _rle.decode_into(counts[start:stop], h, w, flat[start * pixels:stop * pixels],
                             c_order, zeroed, start if batch else -1, len(counts) * pixels)
    else:
        cols, row_first = view[0], view[1]

        def work(start: int, stop: int) -> None:
            _rle.sample_into(counts[start:stop], h, w, cols, row_first, out_h, c_order,
                             flat[start * pixels:stop * pixels], start if batch else -1,
                             zeroed, len(counts) * pixels)

    run_slices(len(counts), threads, work, min_slice=_min_slice(max(pixels, h * w // 8)))
    return result


def label_map(
    rles: Any,
    *,
    order: str = "C",
    paint: str = "index",
    dtype: Any = np.int32,
    out: Optional[np.ndarray] = None,
    size: Optional[Sequence[int]] = None,
    scale: Optional[float] = None,
    crop: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """Instance label map: 0 for background, ``i + 1`` where mask ``i`` is.

    Computed from the runs without decoding masks: from the top mask down,
    each mask paints only what the masks above it leave uncovered (a set
    difference on the runs), so every pixel is written at most once.

    Parameters
    ----------
    rles : list of dicts or TFDS batch dict
        Masks of one size (at least one).
    order : {"C", "F"}
        Memory layout of the result.
    paint : {"index", "area"}
        Where masks overlap, who wins. ``"index"``: masks are painted in
        list order, so a later mask covers an earlier one. ``"area"``:
        largest first (ties in list order), so small masks stay visible on
        top of the large ones they lie in. Labels are ``i + 1`` either way.
    dtype : {int32, uint16, uint8}
        Label type; uint8 holds up to 255 masks, uint16 up to 65535 (a
        quarter or half of int32's memory traffic).
    out : array of that dtype, optional
        ``(h, w)`` (or the ``size``/``crop`` shape), C- or F-contiguous;
        overwritten.
    size, scale, crop
        As in :func:`decode`: the label map of a window and/or a
        nearest-neighbour resample.

    Returns
    -------
    ndarray of ``dtype``

    Examples
    --------
    >>> import numpy as np, sarle
    >>> a = np.zeros((3, 4), bool); a[:, :3] = True
    >>> b = np.zeros((3, 4), bool); b[1, 1:] = True
    >>> sarle.label_map(sarle.encode(np.array([a, b])))
    array([[1, 1, 1, 0],
           [1, 2, 2, 2],
           [1, 1, 1, 0]], dtype=int32)
    """
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', got {order!r}")
    if paint not in ("index", "area"):
        raise ValueError(f"paint must be 'index' or 'area', got {paint!r}")
    if not _inputs.is_batch(rles):
        rles = [rles]
    parsed = _inputs.parse_batch(rles)
    if not parsed:
        raise ValueError("label_map needs at least one mask (its size comes from the masks)")
    dtype = np.dtype(dtype)
    limits = {np.dtype(np.uint8): 2**8 - 1, np.dtype(np.uint16): 2**16 - 1,
              np.dtype(np.int32): 2**31 - 1}
    if dtype not in limits:
        raise TypeError(f"label_map dtype must be uint8, uint16 or int32, got {dtype}")
    if len(parsed) > limits[dtype]:
        raise ValueError(f"{len(parsed)} masks do not fit in {dtype} labels")
    h, w = _inputs.common_size(parsed)
    view = _sampling(h, w, size, scale, crop)
    out_h, out_w = (h, w) if view is None else (view[2], view[3])
    if out_h * out_w == 0 or (out is None and out_h * out_w * dtype.itemsize >= _CHECK_BEFORE_ALLOCATING):
        _stats(parsed, True, False, 1)  # malformed counts: ValueError before allocating
    if out_h * out_w == 0:
        if out is not None:
            _check_out(out, (out_h, out_w), (dtype,))
            return out
        return np.zeros((out_h, out_w), dtype=dtype, order=order)
    if view is None:
        view = (np.arange(w, dtype=np.int64), np.arange(h + 1, dtype=np.int64), h, w)
    cols, row_first, out_h, out_w = view
    counts = [p[0] for p in parsed]
    if paint == "area":
        areas = _stats(parsed, True, False, 1)[0]
        paint_order = np.argsort(-areas.astype(np.float64), kind="stable").astype(np.int64)
    else:
        paint_order = np.arange(len(parsed), dtype=np.int64)
    if out is None:
        c_order = order == "C"
        result = np.zeros((out_h, out_w), dtype=dtype, order=order)
    else:
        c_order = _check_out(out, (out_h, out_w), (dtype,))
        result = out
        result[...] = 0
    flat = (result if c_order else result.T).reshape(-1).view(np.uint8)
    _rle.label_into(counts, h, w, cols, row_first, out_h, c_order, flat, dtype.itemsize,
                    paint_order)
    return result


def set_output_pool_limit(max_bytes: int) -> int:
    """Set how many bytes of freed decode outputs sarle keeps for reuse.

    A decode into a fresh array of 16 MiB or more (an SA-1B image's masks
    are about 300 MB) takes its memory from this pool when a freed output of
    a fitting size is there, and writes every byte of it, instead of faulting
    in new pages, which the kernel clears first (on the bench machine that
    costs more than the decode itself: see the README's speed section). A
    pooled array is an ordinary numpy array whose memory belongs to the
    pool's buffer object (at the end of its ``base`` chain); the memory goes
    back to the pool only when the array and every view of it are gone. The
    default limit is 1 GiB, or ``SARLE_OUTPUT_POOL_BYTES`` from the
    environment; ``0`` turns pooling off and frees what the pool holds.

    Parameters
    ----------
    max_bytes : int
        The most bytes (capacity of the blocks held) the pool keeps; the
        oldest blocks are dropped first. Outputs larger than this are never
        pooled.

    Returns
    -------
    int
        The previous limit.

    Examples
    --------
    >>> import sarle
    >>> previous = sarle.set_output_pool_limit(0)      # off: every decode allocates
    >>> sarle.output_pool_info()["held_bytes"]
    0
    >>> sarle.set_output_pool_limit(previous)
    0
    """
    return _pool.set_limit(max_bytes)


def output_pool_info() -> Dict[str, int]:
    """What the output pool holds (see ``set_output_pool_limit``).

    Returns
    -------
    dict
        ``limit`` and ``held_bytes`` (bytes), ``held_blocks``, and the
        number of pooled decodes so far that ``reused`` freed memory or
        ``allocated`` new memory.

    Examples
    --------
    >>> import sarle
    >>> sorted(sarle.output_pool_info())
    ['allocated', 'held_blocks', 'held_bytes', 'limit', 'reused']
    """
    return _pool.info()


def encode(mask: Any, *, threads: Optional[int] = None) -> Union[RLE, List[RLE]]:
    """Encode an ``(h, w)`` mask, or each of ``(n, h, w)``, as compressed RLE.

    Parameters
    ----------
    mask : array_like of bool or integers
        Non-zero is foreground. Any memory layout (C, F, strided views).
    threads : int, optional
        Threads for an ``(n, h, w)`` stack (default: every available core).

    Returns
    -------
    dict or list of dict
        ``{"size": [h, w], "counts": str}``; the string is byte-identical to
        pycocotools' for the same mask.

    Examples
    --------
    >>> import numpy as np, sarle
    >>> mask = np.zeros((3, 4), dtype=bool)
    >>> mask[1:, 1:3] = True
    >>> sarle.encode(mask)
    {'size': [3, 4], 'counts': '42102'}
    """
    threads = resolve_threads(threads)
    array = _inputs.as_mask_array(mask)
    if array.ndim == 2:
        return _encode_2d(array)
    results: List[RLE] = [None] * array.shape[0]  # type: ignore[list-item]

    def work(start: int, stop: int) -> None:
        for i in range(start, stop):
            results[i] = _encode_2d(array[i])

    run_slices(array.shape[0], threads, work,
               min_slice=_min_slice(array.shape[1] * array.shape[2]))
    return results


def _encode_2d(array: np.ndarray) -> RLE:
    h, w = array.shape
    if h * w > _inputs.MAX_PIXELS:
        raise ValueError(f"mask of {h}x{w} pixels is larger than sarle's limit of 2**62")
    if array.flags.f_contiguous:
        flat, c_order = np.swapaxes(array, 0, 1), False
    else:
        flat, c_order = np.ascontiguousarray(array), True
    data = flat.reshape(-1).view(np.uint8)
    return _rle_dict(h, w, _rle.encode_flat(data, h, w, c_order))


def _parse_one_or_many(rle: Any):
    if _inputs.is_batch(rle):
        return _inputs.parse_batch(rle), True
    return [_inputs.parse_rle(rle)], False


#: Masks a thread should get at least before area/bbox/boundaries split a batch.
_MASKS_PER_SLICE = 64


def _area_bbox(rle: Any, want_bbox: bool, threads: Optional[int]):
    threads = resolve_threads(threads)
    if type(rle) is list:
        # What json.load gives ({"size": [h, w], "counts": str} dicts) is checked
        # and gathered in C: on an SA-1B image the per-dict Python checks cost
        # half as much as the kernel itself. Anything else: the general parser.
        columns = _rle.json_rle_columns(rle, _inputs.MAX_PIXELS)
        if columns is not None:
            return _stats_columns(*columns, True, want_bbox, threads)
    parsed, batch = _parse_one_or_many(rle)
    return _stats(parsed, batch, want_bbox, threads)


def _stats(parsed: List[_inputs.Parsed], batch: bool, want_bbox: bool, threads: Optional[int]):
    """Areas (and boxes) of already-parsed masks."""
    counts = [p[0] for p in parsed]
    hs = np.array([p[1] for p in parsed], dtype=np.int64)
    ws = np.array([p[2] for p in parsed], dtype=np.int64)
    return _stats_columns(counts, hs, ws, batch, want_bbox, threads)


def _stats_columns(counts: List[_inputs.Counts], hs: np.ndarray, ws: np.ndarray, batch: bool,
                   want_bbox: bool, threads: Optional[int]):
    """Areas (and boxes) of masks given as counts and int64 height and width arrays."""
    n = len(counts)
    areas = np.empty(n, dtype=np.uint64)
    boxes = np.empty((n, 4), dtype=np.float64) if want_bbox else None

    def work(start: int, stop: int) -> None:
        _rle.area_bbox_into(counts[start:stop], hs[start:stop], ws[start:stop],
                            areas[start:stop], None if boxes is None else boxes[start:stop],
                            start if batch else -1)

    run_slices(n, threads, work, min_slice=_MASKS_PER_SLICE)
    return areas, boxes


def area(rle: Any, *, threads: Optional[int] = None) -> Union[int, np.ndarray]:
    """Foreground pixel count, computed from the counts (no decoding).

    Parameters
    ----------
    rle : dict, list of dicts or TFDS batch dict
    threads : int, optional
        Threads for a long list (default: every available core).

    Returns
    -------
    int for one RLE, ndarray of uint64 for a list.

    Examples
    --------
    >>> import sarle
    >>> sarle.area({"size": [3, 4], "counts": "42102"})
    4
    """
    if (type(rle) is dict or isinstance(rle, Mapping)) and not _inputs.is_batch(rle):
        counts, h, w = _inputs.parse_rle(rle)
        return _rle.stats_one(counts, h, w, False)[0]
    return _area_bbox(rle, False, threads)[0]


def bbox(rle: Any, *, threads: Optional[int] = None) -> np.ndarray:
    """Bounding box ``[x, y, w, h]`` (COCO XYWH, as pycocotools' toBbox).

    ``w`` and ``h`` count pixels (``x_max - x_min + 1``); an empty mask gives
    ``[0, 0, 0, 0]``. Computed from the counts, never by decoding.

    Parameters
    ----------
    rle : dict, list of dicts or TFDS batch dict
    threads : int, optional
        Threads for a long list (default: every available core).

    Returns
    -------
    ndarray of float64, shape (4,) for one RLE or (n, 4) for a list.

    Examples
    --------
    >>> import sarle
    >>> sarle.bbox({"size": [3, 4], "counts": "42102"})
    array([1., 1., 2., 2.])
    """
    if (type(rle) is dict or isinstance(rle, Mapping)) and not _inputs.is_batch(rle):
        counts, h, w = _inputs.parse_rle(rle)
        _, x0, y0, x1, y1 = _rle.stats_one(counts, h, w, True)
        if x1 < 0:
            return np.zeros(4)
        return np.array([x0, y0, x1 - x0 + 1, y1 - y0 + 1], dtype=np.float64)
    return _area_bbox(rle, True, threads)[1]


def _boundaries(
    parsed: List[_inputs.Parsed], batch: bool, threads: int = 1
) -> Tuple[np.ndarray, np.ndarray]:
    """Boundaries of every mask, concatenated, and the offsets of each (n + 1)."""
    counts = [p[0] for p in parsed]
    hs = np.array([p[1] for p in parsed], dtype=np.int64)
    ws = np.array([p[2] for p in parsed], dtype=np.int64)
    parts: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}

    def work(start: int, stop: int) -> None:
        parts[start] = _rle.boundaries_many(counts[start:stop], hs[start:stop],
                                            ws[start:stop], start if batch else -1)

    run_slices(len(parsed), threads, work, min_slice=_MASKS_PER_SLICE)
    if len(parts) == 1:
        return parts[0]
    pieces = [parts[start] for start in sorted(parts)]
    shift = np.cumsum([0] + [b.shape[0] for b, _ in pieces[:-1]])
    offsets = np.concatenate([off[:-1] + d for (_, off), d in zip(pieces, shift)]
                             + [pieces[-1][1][-1:] + shift[-1]])
    return np.concatenate([b for b, _ in pieces]), offsets


def iou(
    dt: Any,
    gt: Any,
    iscrowd: Optional[Sequence[Any]] = None,
    *,
    threads: Optional[int] = None,
) -> np.ndarray:
    """Intersection over union of every ``dt`` mask with every ``gt`` mask.

    Same semantics as ``pycocotools.mask.iou``: for a crowd ground truth
    (``iscrowd[j]`` true) the score is the intersection over the ``dt``
    area; a pair with no intersection scores 0. Pairs whose boxes do not
    overlap are skipped without touching their runs.

    Parameters
    ----------
    dt, gt : dict, list of dicts or TFDS batch dict
        All masks must have one size (pycocotools returns -1 for a mismatch
        only when the boxes happen to overlap; sarle raises ValueError).
    iscrowd : sequence of bool, optional
        One flag per ``gt`` mask.
    threads : int, optional
        Threads (default: every available core); rows of the matrix are
        split between them.

    Returns
    -------
    ndarray of float64, shape (len(dt), len(gt))

    Examples
    --------
    >>> import numpy as np, sarle
    >>> a = np.zeros((4, 4), bool); a[:2] = True
    >>> b = np.zeros((4, 4), bool); b[1:3] = True
    >>> sarle.iou(sarle.encode(a), [sarle.encode(a), sarle.encode(b)])
    array([[1.        , 0.33333333]])
    """
    threads = resolve_threads(threads)
    dt_parsed, dt_batch = _parse_one_or_many(dt)
    gt_parsed, gt_batch = (dt_parsed, dt_batch) if gt is dt else _parse_one_or_many(gt)
    m, n = len(dt_parsed), len(gt_parsed)
    if iscrowd is None:
        crowd = np.zeros(n, dtype=np.uint8)
    else:
        flags = np.asarray(iscrowd)
        if flags.ndim != 1 or flags.shape[0] != n:
            raise ValueError(
                f"iscrowd must have one flag per gt mask ({n}), got shape {flags.shape}"
            )
        if flags.dtype.kind not in "biuf":
            raise TypeError(f"iscrowd must hold bools or 0/1, got {flags.dtype}")
        if flags.size and not np.all((flags == 0) | (flags == 1)):
            raise ValueError("iscrowd must hold bools or 0/1")
        crowd = flags.astype(np.uint8)
    if m == 0 or n == 0:
        return np.zeros((m, n), dtype=np.float64)
    h, w = _inputs.common_size(dt_parsed, "dt mask")
    gh, gw = _inputs.common_size(gt_parsed, "gt mask")
    if (gh, gw) != (h, w):
        raise ValueError(f"gt masks have size [{gh}, {gw}] but dt masks have size [{h}, {w}]")
    dt_all, dt_off = _boundaries(dt_parsed, dt_batch, threads)
    if gt is dt:   # self-IoU (NMS, duplicates): parse once
        gt_all, gt_off = dt_all, dt_off
    else:
        gt_all, gt_off = _boundaries(gt_parsed, gt_batch, threads)
    out = np.zeros((m, n), dtype=np.float64)

    def work(start: int, stop: int) -> None:
        _rle.iou_rows_into(dt_all, dt_off, gt_all, gt_off, h, crowd, out, start, stop)

    run_slices(m, threads, work, min_slice=max(1, 4096 // n))
    return out


def merge(rles: Any, intersect: bool = False) -> RLE:
    """Union (or intersection) of masks of one size, computed on the runs.

    Parameters
    ----------
    rles : list of dicts, TFDS batch dict, or one dict
    intersect : bool
        Intersection instead of union.

    Returns
    -------
    dict
        ``{"size": [h, w], "counts": str}``, canonical.

    Examples
    --------
    >>> import numpy as np, sarle
    >>> a = np.eye(3, dtype=bool); b = np.fliplr(a)
    >>> sarle.decode(sarle.merge([sarle.encode(a), sarle.encode(b)])).astype(int)
    array([[1, 0, 1],
           [0, 1, 0],
           [1, 0, 1]])
    """
    if not isinstance(intersect, (bool, int, np.bool_, np.integer)):
        raise TypeError(f"intersect must be a bool, got {type(intersect).__name__}")
    parsed, batch = _parse_one_or_many(rles)
    if not parsed:
        raise ValueError("merge needs at least one RLE")
    h, w = _inputs.common_size(parsed)
    counts = [p[0] for p in parsed]
    return _rle_dict(h, w, _rle.merge_counts(counts, h, w, bool(intersect), 0 if batch else -1))


def compress(rle: Any) -> RLE:
    """Compressed (string) form of an RLE given with uncompressed counts.

    A compressed input is re-encoded canonically. Zero-length interior runs
    are dropped: pycocotools' ``frUncompressedRLE`` keeps them and so gives
    a different string for the same mask.

    Examples
    --------
    >>> import sarle
    >>> sarle.compress({"size": [3, 4], "counts": [4, 2, 1, 2, 3]})
    {'size': [3, 4], 'counts': '42102'}
    >>> sarle.compress({"size": [3, 4], "counts": [4, 2, 0, 0, 1, 2, 3]})   # zero runs dropped
    {'size': [3, 4], 'counts': '42102'}
    """
    counts, h, w = _inputs.parse_rle(rle)
    bounds = _rle.boundaries(counts, h, w)
    return _rle_dict(h, w, _rle.string_from_boundaries(bounds, h * w))


def decompress(rle: Any) -> RLE:
    """Uncompressed form ``{"size": [h, w], "counts": [runs...]}`` (canonical).

    Examples
    --------
    >>> import sarle
    >>> sarle.decompress({"size": [3, 4], "counts": "42102"})
    {'size': [3, 4], 'counts': [4, 2, 1, 2, 3]}
    """
    counts, h, w = _inputs.parse_rle(rle)
    bounds = _rle.boundaries(counts, h, w)
    return _rle_dict(h, w, _rle.runs_from_boundaries(bounds, h * w).tolist())


def _check_hw(h: Any, w: Any):
    return _inputs.parse_size([h, w])


def from_polygon(polygons: Any, h: int, w: int) -> RLE:
    """Rasterise one object given as polygons, exactly as COCO/pycocotools do.

    Parameters
    ----------
    polygons : list of flat ``[x0, y0, x1, y1, ...]`` sequences, or one
        Each needs at least 3 points; ``(k, 2)`` arrays are accepted too.
        The result is their union, pixel for pixel what pycocotools'
        ``merge(frPyObjects(polygons, h, w))`` (COCO ``annToRLE``) gives.
    h, w : int
        Image size.

    Examples
    --------
    >>> import sarle
    >>> square = [0.5, 0.5, 2.5, 0.5, 2.5, 2.5, 0.5, 2.5]
    >>> sarle.decode(sarle.from_polygon([square], 3, 4)).astype(int)
    array([[0, 0, 0, 0],
           [0, 1, 1, 0],
           [0, 1, 1, 0]])
    """
    h, w = _check_hw(h, w)
    if isinstance(polygons, np.ndarray) and polygons.ndim == 1:
        polygons = [polygons]
    elif (isinstance(polygons, (list, tuple)) and polygons
          and all(isinstance(v, (int, float, np.number)) for v in polygons)):
        polygons = [polygons]
    if not isinstance(polygons, (list, tuple, np.ndarray)) or len(polygons) == 0:
        raise ValueError("from_polygon needs at least one polygon")
    parts = [
        _rle.boundaries(_rle._polygon_runs(_inputs.polygon_coordinates(p, i), h, w), h, w)
        for i, p in enumerate(polygons)
    ]
    merged = _rle.merge_boundaries(parts, False)
    return _rle_dict(h, w, _rle.string_from_boundaries(merged, h * w))


def from_bbox(boxes: Any, h: int, w: int) -> Union[RLE, List[RLE]]:
    """Rasterise ``[x, y, w, h]`` boxes exactly as pycocotools' ``frBbox``.

    Parameters
    ----------
    boxes : array_like, shape (4,) or (n, 4)
    h, w : int
        Image size.

    Returns
    -------
    dict for one box, list of dicts for ``(n, 4)``.

    Examples
    --------
    >>> import sarle
    >>> sarle.decode(sarle.from_bbox([1, 0, 2, 2], 3, 4)).astype(int)
    array([[0, 1, 1, 0],
           [0, 1, 1, 0],
           [0, 0, 0, 0]])
    """
    h, w = _check_hw(h, w)
    try:
        array = np.asarray(boxes, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("boxes must be numbers, shape (4,) or (n, 4)") from None
    single = array.ndim == 1
    if single:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != 4:
        raise ValueError(f"boxes must have shape (4,) or (n, 4), got {np.shape(boxes)}")
    if not np.all(np.isfinite(array)):
        raise ValueError("boxes must be finite")
    out = []
    for x, y, bw, bh in array:
        xy = np.array([x, y, x, y + bh, x + bw, y + bh, x + bw, y], dtype=np.float64)
        runs = _rle._polygon_runs(xy, h, w)
        out.append(_rle_dict(h, w, _rle.string_from_boundaries(_rle.boundaries(runs, h, w), h * w)))
    return out[0] if single else out
