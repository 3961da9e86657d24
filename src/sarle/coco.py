"""A drop-in replacement for ``pycocotools.mask``, built on sarle.

Change one import and nothing else::

    import sarle.coco as mask_util       # was: import pycocotools.mask as mask_util

Every function takes pycocotools' arguments and returns what pycocotools
returns, with the same types, dtypes, shapes and memory orders: ``bytes``
counts, ``(h, w, n)`` Fortran-ordered ``uint8`` masks, ``uint32`` areas,
``float64`` boxes and a Fortran-ordered IoU matrix (``[]`` for an empty
operand).  Masks and polygons are rasterised and encoded pixel for pixel and
byte for byte as pycocotools does, so ``COCOeval`` scores do not move.

Where pycocotools crashes, reads out of bounds or returns garbage, this
module raises ``ValueError`` or ``TypeError``, or does the right thing:

==========================================  ===================================
input                                       pycocotools / ``sarle.coco``
==========================================  ===================================
runs that do not sum to ``h * w``           uninitialised or impossible values
                                            / ``ValueError``
empty, truncated or non-alphabet string     segfault, over-read, accepted
                                            / ``ValueError`` with the position
``merge`` of masks of different sizes       ``{'size': [0, 0], 'counts': b''}``
                                            / ``ValueError``
``iou`` of masks of different sizes         -1 (when the boxes overlap)
                                            / ``ValueError``
``area`` of 256 or more RLEs (numpy 2)      ``OverflowError`` / works
list of boxes in ``frPyObjects``            ``TypeError`` / works
one flat box or polygon in ``frPyObjects``  ``TypeError`` / works
odd-length polygon                          last value dropped / ``ValueError``
polygon with a NaN or infinite coordinate   undefined / ``ValueError``
``w == 0`` in ``frPoly``/``frBbox``         counts that do not sum to 0
                                            / the empty ``[h, 0]`` mask
mask values other than 0/1 in ``encode``    every value change starts a run
                                            / non-zero is foreground
``h * w >= 2**32``, runs ``>= 2**29``       wrap silently / exact (64-bit)
==========================================  ===================================

Strings are canonical: sarle never writes a zero-length interior run, where
pycocotools' ``frUncompressedRLE`` copies them through (``[0, 5, 0, 5, 10]``
gives a different string from ``[0, 10, 10]`` there, the same one here).
Decoded masks are identical either way.

This module is also more lenient about *valid* input: ``encode`` takes any
layout (C, Fortran, strided) and bool or integer masks; counts may be
``str`` or ``bytes`` everywhere and uncompressed lists wherever an RLE is
read; tuples are accepted where pycocotools wants a list.
"""

from __future__ import annotations

import operator
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _inputs, _rle
from . import area as _area
from . import bbox as _bbox
from . import compress as _compress
from . import decode as _decode
from . import encode as _encode
from . import from_bbox as _from_bbox
from . import iou as _iou
from . import merge as _merge

RLE = Dict[str, Any]

__all__ = [
    "area",
    "decode",
    "encode",
    "frBbox",
    "frPoly",
    "frPyObjects",
    "frUncompressedRLE",
    "iou",
    "merge",
    "toBbox",
]

_UINT32_MAX = 2**32 - 1


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _as_bytes(rle: RLE) -> RLE:
    """sarle's ``str`` counts -> pycocotools' ``bytes`` counts."""
    return {"size": rle["size"], "counts": rle["counts"].encode("ascii")}


def _is_many(obj: Any) -> bool:
    """A list/tuple of RLEs, or a TFDS batch dict (``size`` of shape (n, 2))."""
    if isinstance(obj, (list, tuple)):
        return True
    return isinstance(obj, dict) and np.ndim(obj.get("size")) == 2


def _image_size(h: Any, w: Any) -> Tuple[int, int]:
    """Validate an image size given as two numbers (ints or whole floats)."""
    out = []
    for name, value in (("h", h), ("w", w)):
        if isinstance(value, (float, np.floating)):
            if not np.isfinite(value) or not float(value).is_integer():
                raise ValueError(f"image {name} must be a whole number, got {value!r}")
            value = int(value)
        try:
            number = operator.index(value)
        except TypeError:
            raise TypeError(
                f"image {name} must be an integer, got {type(value).__name__}"
            ) from None
        if number < 0:
            raise ValueError(f"image {name} must not be negative, got {number}")
        out.append(number)
    if out[0] * out[1] > 2**62:
        raise ValueError(f"image size {out[0]}x{out[1]} is larger than 2**62 pixels")
    return out[0], out[1]


def _size_of(rle: Any) -> Optional[Tuple[int, int]]:
    """``(h, w)`` of an RLE dict when plainly readable, else None."""
    try:
        h, w = (operator.index(v) for v in rle["size"])
    except Exception:
        return None
    if h < 0 or w < 0 or h * w > 2**62:
        return None
    return h, w


def _uint32(areas: np.ndarray) -> np.ndarray:
    """pycocotools' uint32 areas; uint64 only where an area would not fit."""
    if areas.size and int(areas.max()) > _UINT32_MAX:
        return areas.astype(np.uint64)
    return areas.astype(np.uint32)


# --------------------------------------------------------------------------
# encode / decode
# --------------------------------------------------------------------------


def encode(bimask: Any) -> Union[RLE, List[RLE]]:
    """Encode binary masks as COCO compressed RLE, like ``pycocotools.mask.encode``.

    Parameters
    ----------
    bimask : array_like, shape (h, w) or (h, w, n)
        Binary masks.  pycocotools needs a Fortran-contiguous ``uint8``
        array; here any layout (C, Fortran, strided views) and any bool or
        integer dtype is accepted, and non-zero means foreground
        (pycocotools starts a new run at every change of value, so a
        ``{0, 1, 2}`` mask encodes differently there).

    Returns
    -------
    dict or list of dict
        ``{'size': [h, w], 'counts': bytes}`` for a 2-D mask, a list of
        ``n`` of them for ``(h, w, n)``.  The strings are byte-identical to
        pycocotools'.

    Raises
    ------
    ValueError
        A mask that is not 2-D or 3-D (pycocotools returns None for 1-D).
    TypeError
        A float or object mask.

    Examples
    --------
    >>> import numpy as np
    >>> import sarle.coco as mask_util
    >>> mask = np.zeros((3, 4), dtype=np.uint8, order="F")
    >>> mask[2, :3] = 1
    >>> mask_util.encode(mask)
    {'size': [3, 4], 'counts': b'2120001'}
    >>> [r["counts"] for r in mask_util.encode(np.stack([mask, 1 - mask], axis=2))]
    [b'2120001', b'02100001']
    """
    array = np.asarray(bimask)
    if array.ndim == 3:
        return [_as_bytes(rle) for rle in _encode(np.moveaxis(array, 2, 0))]
    if array.ndim == 2:
        return _as_bytes(_encode(array))
    raise ValueError(f"bimask must be (h, w) or (h, w, n), got {array.ndim}-D")


def decode(rleObjs: Any) -> np.ndarray:
    """Decode RLEs to masks, like ``pycocotools.mask.decode``.

    Parameters
    ----------
    rleObjs : dict or list of dict
        ``{'size': [h, w], 'counts': bytes | str | list}``; a list (or
        tuple, or TFDS batch dict) decodes to a stack.  All masks of a list
        must have the same size.

    Returns
    -------
    ndarray of uint8
        ``(h, w)`` for one RLE, ``(h, w, n)`` for a list, Fortran-contiguous
        with values 0 and 1, as pycocotools.  An empty list gives an
        ``(0, 0, 0)`` array (pycocotools raises a garbage ``ValueError``).

    Raises
    ------
    ValueError, TypeError
        Malformed RLEs, runs that do not sum to ``h * w`` (pycocotools
        returns uninitialised memory for a short sum), sizes that differ.

    Examples
    --------
    >>> import sarle.coco as mask_util
    >>> rle = {"size": [3, 4], "counts": b"2120001"}
    >>> mask = mask_util.decode(rle)
    >>> mask
    array([[0, 0, 0, 0],
           [0, 0, 0, 0],
           [1, 1, 1, 0]], dtype=uint8)
    >>> mask.flags.f_contiguous
    True
    >>> mask_util.decode([rle, rle]).shape
    (3, 4, 2)
    """
    if _is_many(rleObjs):
        n = len(rleObjs["counts"]) if isinstance(rleObjs, dict) else len(rleObjs)
        size = _size_of(rleObjs[0]) if isinstance(rleObjs, (list, tuple)) and n else None
        if size is None:
            # Unusual input (or an error to report): let sarle decode it, then
            # reinterpret its per-mask F-contiguous bool stack as uint8.
            masks = _decode(rleObjs, order="F")
            return masks.transpose(1, 2, 0).view(np.uint8)
        out = np.empty(size + (n,), dtype=np.uint8, order="F")
        _decode(rleObjs, out=out.transpose(2, 0, 1))
        return out
    size = _size_of(rleObjs)
    if size is None:
        return _decode(rleObjs, order="F").view(np.uint8)
    out = np.empty(size, dtype=np.uint8, order="F")
    _decode(rleObjs, out=out)
    return out


# --------------------------------------------------------------------------
# measurements on the runs
# --------------------------------------------------------------------------


def area(rleObjs: Any) -> Union[np.uint32, np.ndarray]:
    """Foreground pixel counts, like ``pycocotools.mask.area``.

    Parameters
    ----------
    rleObjs : dict or list of dict

    Returns
    -------
    numpy.uint32 or ndarray of uint32
        A scalar for one RLE, shape ``(n,)`` for a list.  Exact for any
        number of RLEs (pycocotools raises ``OverflowError`` from 256 on
        under numpy 2).  An area of ``2**32`` or more, only possible when
        ``h * w >= 2**32``, wraps in pycocotools; here the result is then
        promoted to uint64 instead.

    Examples
    --------
    >>> import sarle.coco as mask_util
    >>> rle = {"size": [3, 4], "counts": b"2120001"}
    >>> mask_util.area(rle)
    np.uint32(3)
    >>> mask_util.area([rle, rle])
    array([3, 3], dtype=uint32)
    """
    if _is_many(rleObjs):
        return _uint32(np.asarray(_area(rleObjs)))
    value = int(_area(rleObjs))
    return np.uint32(value) if value <= _UINT32_MAX else np.uint64(value)


def toBbox(rleObjs: Any) -> np.ndarray:
    """Bounding boxes ``[x, y, w, h]``, like ``pycocotools.mask.toBbox``.

    ``w`` and ``h`` count pixels (``x_max - x_min + 1``); an empty mask
    gives ``[0, 0, 0, 0]``.

    Parameters
    ----------
    rleObjs : dict or list of dict

    Returns
    -------
    ndarray of float64
        Shape ``(4,)`` for one RLE, ``(n, 4)`` for a list.

    Examples
    --------
    >>> import sarle.coco as mask_util
    >>> mask_util.toBbox({"size": [3, 4], "counts": b"2120001"})
    array([0., 2., 3., 1.])
    """
    if _is_many(rleObjs):
        return np.ascontiguousarray(_bbox(rleObjs), dtype=np.float64).reshape(-1, 4)
    return np.asarray(_bbox(rleObjs), dtype=np.float64)


def merge(rleObjs: Any, intersect: Any = 0) -> RLE:
    """Union (or intersection) of masks, like ``pycocotools.mask.merge``.

    Parameters
    ----------
    rleObjs : list of dict
        One or more RLEs of one size.
    intersect : bool or int, default 0
        Intersection instead of union when true.

    Returns
    -------
    dict
        ``{'size': [h, w], 'counts': bytes}``, canonical.

    Raises
    ------
    ValueError
        An empty list (pycocotools returns ``{'size': [0, 0], 'counts':
        b''}``, and segfaults on an empty counts string), or masks of
        different sizes (pycocotools returns that same empty RLE).

    Examples
    --------
    >>> import numpy as np
    >>> import sarle.coco as mask_util
    >>> a = mask_util.encode(np.asfortranarray(np.eye(3, dtype=np.uint8)))
    >>> b = mask_util.encode(np.asfortranarray(np.fliplr(np.eye(3, dtype=np.uint8))))
    >>> mask_util.decode(mask_util.merge([a, b]))
    array([[1, 0, 1],
           [0, 1, 0],
           [1, 0, 1]], dtype=uint8)
    >>> mask_util.merge([a, b], intersect=1)["counts"]
    b'414'
    """
    return _as_bytes(_merge(rleObjs, intersect=bool(intersect)))


# --------------------------------------------------------------------------
# IoU
# --------------------------------------------------------------------------


def _boxes(array: Any, what: str) -> np.ndarray:
    try:
        boxes = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: boxes must be numbers, shape (n, 4)") from None
    if boxes.ndim == 1 and boxes.shape[0] == 4:
        boxes = boxes.reshape(1, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f"{what}: boxes must have shape (n, 4), got {boxes.shape}")
    return boxes


def _iou_operand(objs: Any, what: str) -> Tuple[str, Any, int]:
    """Classify an ``iou`` operand as ('box', array) or ('rle', RLEs)."""
    if isinstance(objs, np.ndarray):
        if objs.size == 0:
            return "empty", objs, 0
        boxes = _boxes(objs, what)
        return "box", boxes, boxes.shape[0]
    if isinstance(objs, dict):
        if np.ndim(objs.get("size")) == 2:
            return "rle", objs, len(objs["counts"])
        return "rle", [objs], 1
    if isinstance(objs, (list, tuple)):
        if len(objs) == 0:
            return "empty", objs, 0
        if all(isinstance(o, dict) for o in objs):
            return "rle", objs, len(objs)
        if all(isinstance(o, (list, tuple, np.ndarray)) and len(o) == 4 for o in objs):
            boxes = _boxes(objs, what)
            return "box", boxes, boxes.shape[0]
        if len(objs) == 4 and all(isinstance(v, (int, float, np.number)) for v in objs):
            return "box", _boxes(objs, what), 1
        raise TypeError(f"{what}: a list must hold boxes (n x 4) or RLE dicts")
    raise TypeError(
        f"{what}: expected a list of RLE dicts, a list of boxes or an (n, 4) "
        f"array, got {type(objs).__name__}"
    )


def _box_iou(dt: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """pycocotools' ``bbIou``, the same float operations, vectorised."""
    d = dt[:, None, :]
    g = gt[None, :, :]
    with np.errstate(all="ignore"):
        d_area = d[..., 2] * d[..., 3]
        g_area = g[..., 2] * g[..., 3]
        w = np.fmin(d[..., 2] + d[..., 0], g[..., 2] + g[..., 0]) - np.fmax(d[..., 0], g[..., 0])
        h = np.fmin(d[..., 3] + d[..., 1], g[..., 3] + g[..., 1]) - np.fmax(d[..., 1], g[..., 1])
        inter = w * h
        union = np.where(crowd[None, :], d_area, d_area + g_area - inter)
        # C skips a pair with `if (w <= 0) continue;`, so a NaN goes through.
        result = np.where((w <= 0) | (h <= 0), 0.0, inter / union)
    return np.asfortranarray(result)


def iou(dt: Any, gt: Any, pyiscrowd: Optional[Sequence[Any]] = None) -> Union[np.ndarray, list]:
    """IoU of every ``dt`` with every ``gt``, like ``pycocotools.mask.iou``.

    Parameters
    ----------
    dt, gt : list of RLE dicts, or boxes
        Both RLEs, or both boxes ``[x, y, w, h]`` given as an ``(n, 4)``
        array or a list of 4-element lists/arrays.
    pyiscrowd : sequence of bool or int, optional
        One flag per ``gt`` (positional third argument, as in pycocotools;
        pycocotools requires it, here None means no crowd).  For a crowd
        ``gt`` the score is intersection over the ``dt`` area.

    Returns
    -------
    ndarray of float64, shape (len(dt), len(gt)), Fortran-ordered, or []
        ``[]`` (an empty list, as pycocotools) when either side is empty.
        Box scores use pycocotools' ``bbIou`` float operations exactly.

    Raises
    ------
    ValueError
        Masks of different sizes (pycocotools gives -1 where their boxes
        overlap and 0 elsewhere), ``pyiscrowd`` of the wrong length
        (pycocotools: ``AssertionError``), malformed boxes or RLEs.
    TypeError
        Boxes on one side and RLEs on the other, or an unknown input type.

    Examples
    --------
    >>> import numpy as np
    >>> import sarle.coco as mask_util
    >>> a = np.zeros((4, 4), np.uint8, order="F"); a[:2] = 1
    >>> b = np.zeros((4, 4), np.uint8, order="F"); b[1:3] = 1
    >>> mask_util.iou([mask_util.encode(a)], [mask_util.encode(a), mask_util.encode(b)], [0, 0])
    array([[1.        , 0.33333333]])
    >>> mask_util.iou([[0, 0, 2, 2]], [[1, 1, 2, 2]], [0])
    array([[0.14285714]])
    >>> mask_util.iou([], [[1, 1, 2, 2]], [0])
    []
    """
    dt_kind, dt_objs, m = _iou_operand(dt, "dt")
    gt_kind, gt_objs, n = _iou_operand(gt, "gt")
    if pyiscrowd is None:
        crowd = np.zeros(n, dtype=bool)
    else:
        flags = np.asarray(pyiscrowd)
        if flags.ndim != 1 or flags.shape[0] != n:
            raise ValueError(
                f"iscrowd must have one flag per gt ({n}), got shape {flags.shape}"
            )
        if flags.size and flags.dtype.kind not in "biuf":
            raise TypeError(f"iscrowd must hold bools or numbers, got {flags.dtype}")
        crowd = flags != 0
    if m == 0 or n == 0:
        return []
    if dt_kind != gt_kind:
        raise TypeError(
            f"dt and gt must both be RLEs or both be boxes, got {dt_kind} and {gt_kind}"
        )
    if dt_kind == "box":
        return _box_iou(dt_objs, gt_objs, crowd)
    return np.asfortranarray(_iou(dt_objs, gt_objs, crowd), dtype=np.float64)


# --------------------------------------------------------------------------
# conversions from polygons, boxes and uncompressed RLEs
# --------------------------------------------------------------------------


def frPoly(poly: Any, h: Any, w: Any) -> List[RLE]:
    """Rasterise each polygon separately, like pycocotools' ``_mask.frPoly``.

    Parameters
    ----------
    poly : list of polygons
        Each ``[x0, y0, x1, y1, ...]`` (or a ``(k, 2)`` array, which
        pycocotools misreads), pixel coordinates.  Polygons with fewer than
        3 points give the empty mask, as in pycocotools (later items of a
        ``frPyObjects`` polygon list may be that short);
        ``sarle.from_polygon`` rejects them.
    h, w : int
        Image size.

    Returns
    -------
    list of dict
        One ``{'size': [h, w], 'counts': bytes}`` per polygon, pixel for
        pixel pycocotools' (COCO's x5-upsampled boundary walk).  Use
        ``merge`` (or ``sarle.from_polygon``) for the object's union.

    Raises
    ------
    ValueError
        An odd number of coordinates (pycocotools drops the last one), a
        NaN or infinite coordinate, one beyond ``2**40`` in magnitude, or a
        bad image size.

    Examples
    --------
    >>> import sarle.coco as mask_util
    >>> rles = mask_util.frPoly([[0, 0, 0, 2, 2, 2, 2, 0]], 4, 4)
    >>> mask_util.decode(rles[0])
    array([[1, 1, 0, 0],
           [1, 1, 0, 0],
           [0, 0, 0, 0],
           [0, 0, 0, 0]], dtype=uint8)
    """
    h, w = _image_size(h, w)
    out = []
    for i, p in enumerate(poly):
        runs = _rle._polygon_runs(_inputs.polygon_coordinates(p, i, min_points=0), h, w)
        out.append(_as_bytes(_compress({"size": [h, w], "counts": runs})))
    return out


def frBbox(bb: Any, h: Any, w: Any) -> List[RLE]:
    """Rasterise ``[x, y, w, h]`` boxes, like pycocotools' ``_mask.frBbox``.

    Parameters
    ----------
    bb : array_like, shape (n, 4) or (4,)
        Boxes; any numeric dtype or nested lists (pycocotools wants a
        float64 ndarray).
    h, w : int
        Image size.

    Returns
    -------
    list of dict
        ``{'size': [h, w], 'counts': bytes}`` per box, pixel for pixel
        pycocotools' (a box is rasterised as its 4-point polygon).

    Examples
    --------
    >>> import sarle.coco as mask_util
    >>> mask_util.frBbox([[1, 0, 2, 2]], 3, 4)
    [{'size': [3, 4], 'counts': b'32103'}]
    """
    h, w = _image_size(h, w)
    boxes = _boxes(bb, "bb")
    if boxes.shape[0] == 0:
        return []
    return [_as_bytes(rle) for rle in _from_bbox(boxes, h, w)]


def frUncompressedRLE(ucRles: Any, h: Any = None, w: Any = None) -> List[RLE]:
    """Compress RLEs with list counts, like pycocotools' ``_mask.frUncompressedRLE``.

    Parameters
    ----------
    ucRles : list of dict
        ``{'size': [h, w], 'counts': [runs...]}``; compressed counts are
        re-encoded.
    h, w : int, optional
        Ignored: the size comes from each dict, as in pycocotools.

    Returns
    -------
    list of dict
        ``{'size': [h, w], 'counts': bytes}``.  Canonical: zero-length
        interior runs, which pycocotools copies into the string, are
        dropped, so the bytes may differ while the mask is the same.

    Raises
    ------
    ValueError
        Runs that do not sum to ``h * w`` or are negative (pycocotools
        encodes them anyway), a bad size.

    Examples
    --------
    >>> import sarle.coco as mask_util
    >>> mask_util.frUncompressedRLE([{"size": [3, 4], "counts": [6, 3, 3]}], 3, 4)
    [{'size': [3, 4], 'counts': b'633'}]
    """
    out = []
    for i, rle in enumerate(ucRles):
        try:
            out.append(_as_bytes(_compress(rle)))
        except (ValueError, TypeError) as error:
            raise type(error)(f"RLE {i}: {error}") from None
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def frPyObjects(pyobj: Any, h: Any, w: Any) -> Union[RLE, List[RLE]]:
    """Convert polygons, boxes or uncompressed RLEs, like ``pycocotools.mask.frPyObjects``.

    Dispatch, as in pycocotools:

    * ndarray ``(n, 4)`` -> boxes, a list of RLEs (a ``(4,)`` array -> one
      RLE dict);
    * list whose first item has 4 values -> boxes (pycocotools raises
      ``TypeError`` here; this works);
    * list whose first item has more than 4 values -> polygons, one RLE per
      polygon (COCO's ``annToRLE`` then merges them);
    * list of ``(k, 2)`` point arrays -> polygons (pycocotools misreads
      them);
    * list of dicts -> uncompressed RLEs (``h``, ``w`` ignored);
    * one flat list of 4 numbers -> one box, of more -> one polygon (both
      ``TypeError`` in pycocotools), one dict -> one uncompressed RLE;
    * an empty list -> ``[]`` (pycocotools: ``IndexError``).

    A 4-number polygon is read as a box, exactly as pycocotools does.

    Parameters
    ----------
    pyobj : ndarray, list or dict
    h, w : int
        Image size (ignored for uncompressed RLEs).

    Returns
    -------
    list of dict or dict
        ``{'size': [h, w], 'counts': bytes}``.

    Raises
    ------
    ValueError
        Odd-length polygons (pycocotools drops the last value), non-finite
        coordinates, runs that do not sum to ``h * w``, a first item with
        fewer than 4 values.
    TypeError
        Anything else pycocotools does not support.

    Examples
    --------
    >>> import sarle.coco as mask_util
    >>> mask_util.frPyObjects([[0, 0, 0, 2, 2, 2, 2, 0]], 4, 4)
    [{'size': [4, 4], 'counts': b'02208'}]
    >>> mask_util.frPyObjects([[1, 0, 2, 2]], 3, 4)
    [{'size': [3, 4], 'counts': b'32103'}]
    >>> mask_util.frPyObjects({"size": [3, 4], "counts": [6, 3, 3]}, 3, 4)
    {'size': [3, 4], 'counts': b'633'}
    """
    if isinstance(pyobj, np.ndarray):
        if pyobj.ndim == 1 and pyobj.shape[0] == 4:
            return frBbox(pyobj.reshape(1, 4), h, w)[0]
        return frBbox(pyobj, h, w)
    if isinstance(pyobj, dict):
        if "counts" in pyobj and "size" in pyobj:
            return frUncompressedRLE([pyobj], h, w)[0]
        raise ValueError("an RLE dict needs 'size' and 'counts' keys")
    if not isinstance(pyobj, (list, tuple)):
        raise TypeError(
            "frPyObjects takes an (n, 4) box array, a list of boxes, polygons or RLE "
            f"dicts, one box, polygon or RLE dict; got {type(pyobj).__name__}"
        )
    if len(pyobj) == 0:
        return []
    first = pyobj[0]
    if isinstance(first, np.ndarray) and first.ndim == 2:
        return frPoly(pyobj, h, w)  # (k, 2) point arrays
    if isinstance(first, dict):
        if not all(isinstance(o, dict) for o in pyobj):
            raise TypeError("a list of RLE dicts must hold only dicts")
        return frUncompressedRLE(pyobj, h, w)
    if _is_number(first):
        if len(pyobj) == 4:
            return frBbox([pyobj], h, w)[0]
        if len(pyobj) > 4:
            return frPoly([pyobj], h, w)[0]
        raise ValueError(
            f"one object of {len(pyobj)} numbers is neither a box (4) nor a polygon (>= 6)"
        )
    try:
        length = len(first)
    except TypeError:
        raise TypeError(
            f"frPyObjects: unsupported item type {type(first).__name__}"
        ) from None
    if length == 4:
        return frBbox(pyobj, h, w)
    if length > 4:
        return frPoly(pyobj, h, w)
    raise ValueError(
        f"first item has {length} values: neither a box (4) nor a polygon (>= 6)"
    )
