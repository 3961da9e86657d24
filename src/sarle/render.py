"""Pictures of masks: colour overlays on an image, label-map pictures, PNG I/O.

This is what ``sarle render`` draws. :func:`overlay` paints each mask in its
own colour, blended over the image, with the mask's boundary in a strong
shade of the same colour; without an image it draws the label-map picture
(masks in their colours on a dark background). Where masks overlap, each
pixel shows one mask only, the one on top in :func:`sarle.label_map`'s paint
order, so a picture of a hundred SA-1B masks stays readable.

The overlay keeps one promise that makes it safe to inspect: **a pixel of the
picture differs from the image exactly where at least one mask covers it.**
Uncovered pixels are copied unchanged; a covered pixel whose blend happens to
give back the image's own value (the image already has the mask's colour
there, or ``alpha`` is too small to move it) is nudged by a fixed, visible
step (see :data:`NUDGE`).

Pillow is needed only to read and write image files (:func:`read_image`,
:func:`write_png`) and is imported when they are called.

Examples
--------
>>> import numpy as np, sarle
>>> from sarle import render
>>> mask = np.zeros((4, 6), bool)
>>> mask[1:3, 1:4] = True
>>> image = np.full((4, 6, 3), 200, np.uint8)
>>> picture = render.overlay([sarle.encode(mask)], image)
>>> np.array_equal((picture != image).any(axis=-1), mask)
True
"""

from __future__ import annotations

import io
import numbers
import os
from collections.abc import Mapping
from typing import Any, Optional, Sequence

import numpy as np

from . import _inputs
from .codec import label_map

__all__ = ["BACKGROUND", "NUDGE", "overlay", "palette", "read_image", "write_png"]

#: RGB of the picture's background where there is no image: a neutral dark grey.
BACKGROUND = (24, 24, 24)

#: Step (added or subtracted on every channel) that marks a covered pixel
#: whose blend would otherwise equal the image there.
NUDGE = 48

#: Golden ratio conjugate: successive hues a golden-ratio turn apart never
#: come back close to each other.
_GOLDEN = 0.6180339887498949

#: Saturation and value levels that palette colours cycle through (periods 3
#: and 4, so twelve combinations); all bright enough to show on dark images
#: and on :data:`BACKGROUND`.
_SATURATIONS = (0.90, 0.65, 0.80)
_VALUES = (1.00, 0.80, 0.92, 0.72)

#: Over a translucent fill an outline is the mask's colour itself, opaque. Over
#: a fill with at least this ``alpha`` (or no image) it is the colour mixed
#: with black (bright colours) or white (dark colours) by ``_SHADE`` instead.
_OPAQUE = 0.75
_SHADE = 0.5

#: Where a palette colour repeats an earlier one, it moves (at most
#: ``_ROUNDS`` times) to a new hue, saturation and value inside these ranges,
#: stepping by the powers of 1/phi_3 (the R3 low-discrepancy sequence).
_ROUNDS = 64
_SAT_RANGE = (0.65, 0.95)
_VAL_RANGE = (0.72, 1.00)
_R3 = (0.8191725133961645, 0.6710436067037893, 0.5497004779019703)


# --------------------------------------------------------------------------- colours

def _hsv_to_rgb(hue: np.ndarray, sat: np.ndarray, val: np.ndarray) -> np.ndarray:
    """Vectorised HSV (each in [0, 1]) -> ``(n, 3)`` float RGB in [0, 1]."""
    sector = hue * 6.0
    index = np.floor(sector).astype(np.int64) % 6
    frac = sector - np.floor(sector)
    p = val * (1.0 - sat)
    q = val * (1.0 - sat * frac)
    t = val * (1.0 - sat * (1.0 - frac))
    table = np.stack([
        np.stack([val, t, p], axis=-1),
        np.stack([q, val, p], axis=-1),
        np.stack([p, val, t], axis=-1),
        np.stack([p, q, val], axis=-1),
        np.stack([t, p, val], axis=-1),
        np.stack([val, p, q], axis=-1),
    ])
    return table[index, np.arange(hue.size)]


def palette(n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` distinct, saturated colours, the same for the same ``n`` and ``seed``.

    Hues step round the colour wheel by the golden ratio from a start drawn
    from ``seed``, so neighbours in the list (masks next to each other in an
    SA-1B file) get very different hues; saturation and value cycle through
    a few bright levels so that colours far apart in the list but close in
    hue still differ. Colour ``i`` does not depend on ``n``: a longer palette
    extends a shorter one.

    Parameters
    ----------
    n : int
        Number of colours (``>= 0``).
    seed : int, optional
        Non-negative; picks the starting hue and level. ``0`` by default.

    Returns
    -------
    ndarray of uint8, shape ``(n, 3)``
        RGB rows, each with a channel of at least 184 and a saturation of at
        least 0.64, pairwise different (a colour that rounds to an earlier
        one is moved; the tests check ``n`` up to 65 536).

    Examples
    --------
    >>> from sarle import render
    >>> render.palette(3)
    array([[ 23,  61, 235],
           [120, 184,  64],
           [255,  51, 206]], dtype=uint8)
    >>> render.palette(100, seed=7).shape
    (100, 3)
    """
    n = _count(n, "palette n")
    rng = np.random.default_rng(_count(seed, "palette seed"))
    start, level = float(rng.random()), int(rng.integers(12))
    i = np.arange(n, dtype=np.int64)
    hue = (start + i * _GOLDEN) % 1.0
    sat = np.asarray(_SATURATIONS)[(i + level) % len(_SATURATIONS)]
    val = np.asarray(_VALUES)[(i + level) % len(_VALUES)]
    colors = np.rint(_hsv_to_rgb(hue, sat, val) * 255.0).astype(np.uint8)
    return _distinct(colors, hue, sat, val)


def _distinct(colors: np.ndarray, hue: np.ndarray, sat: np.ndarray,
              val: np.ndarray) -> np.ndarray:
    """Make colours that round to an earlier colour new ones, deterministically.

    In rounds, every colour equal to one earlier in the list moves to its
    next candidate: the hue turned on, saturation and value drawn anew
    inside the palette's ranges, all by low-discrepancy steps. A
    colour moves only because of earlier ones, so a prefix of the palette
    is the palette of the prefix.
    """
    tries = np.zeros(len(colors), dtype=np.int64)
    for _ in range(_ROUNDS):
        keys = (colors.astype(np.int64) << np.array([16, 8, 0])).sum(axis=1)
        first = np.unique(keys, return_index=True)[1]
        if len(first) == len(keys):
            break
        repeat = np.ones(len(keys), dtype=bool)
        repeat[first] = False
        tries[repeat] += 1
        k = tries[repeat].astype(np.float64)
        i = np.flatnonzero(repeat).astype(np.float64)
        turned = (hue[repeat] + k * _R3[0]) % 1.0
        s = _SAT_RANGE[0] + (_SAT_RANGE[1] - _SAT_RANGE[0]) * ((k * _R3[1] + i * _R3[2]) % 1.0)
        v = _VAL_RANGE[0] + (_VAL_RANGE[1] - _VAL_RANGE[0]) * ((k * _R3[2] + i * _R3[1]) % 1.0)
        colors[repeat] = np.rint(_hsv_to_rgb(turned, s, v) * 255.0).astype(np.uint8)
    return colors


def _count(value: Any, what: str) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return int(value)


def _shades(colors: np.ndarray) -> np.ndarray:
    """Outline colour of each fill colour: darker if bright, lighter if dark.

    The shade always differs from its colour (pure black gets lighter, pure
    white darker), so an outline shows even on a mask's own fill.
    """
    rgb = colors.astype(np.float64)
    bright = rgb.max(axis=1, keepdims=True) >= 128
    dark = rgb * (1.0 - _SHADE)
    light = rgb + (255.0 - rgb) * _SHADE
    return np.rint(np.where(bright, dark, light)).astype(np.uint8)


# --------------------------------------------------------------------------- checks

def _check_alpha(alpha: Any) -> int:
    """``alpha`` in [0, 1] -> the blend weight out of 256."""
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a number between 0 and 1, got {alpha!r}")
    if not 0.0 <= float(alpha) <= 1.0:   # also rejects nan
        raise ValueError(f"alpha must be between 0 and 1, got {alpha!r}")
    return int(round(float(alpha) * 256))


def _check_picture(picture: Any, what: str) -> np.ndarray:
    """An ``(h, w, 3)`` or ``(h, w)`` uint8 array, grey broadcast to RGB."""
    if not isinstance(picture, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, got {type(picture).__name__}")
    if picture.dtype != np.uint8:
        raise TypeError(f"{what} must have dtype uint8, got {picture.dtype}")
    if picture.ndim == 2:
        return np.broadcast_to(picture[:, :, None], picture.shape + (3,))
    if picture.ndim != 3 or picture.shape[2] != 3:
        raise ValueError(
            f"{what} must have shape (h, w, 3) (RGB) or (h, w) (grey), got {picture.shape}"
        )
    return picture


def _check_colors(colors: Any, n: int) -> np.ndarray:
    array = np.asarray(colors)
    if array.dtype.kind not in "iu":
        raise TypeError(f"colors must be integers from 0 to 255, got dtype {array.dtype}")
    if array.shape != (n, 3):
        raise ValueError(f"colors must have shape ({n}, 3), one RGB row per mask, "
                         f"got {array.shape}")
    if array.size and (array.min() < 0 or array.max() > 255):
        raise ValueError(f"colors must be from 0 to 255, got values from "
                         f"{array.min()} to {array.max()}")
    return array.astype(np.uint8)


def _mask_count(rles: Any) -> int:
    if isinstance(rles, Mapping):
        if "counts" not in rles:
            raise ValueError("batch RLE dict is missing the 'counts' key")
        return len(rles["counts"])
    return len(rles)


# --------------------------------------------------------------------------- overlay

def _outline(labels: np.ndarray) -> np.ndarray:
    """Covered pixels with a 4-neighbour (inside the picture) of another label."""
    edge = np.zeros(labels.shape, dtype=bool)
    step = labels[:, 1:] != labels[:, :-1]
    edge[:, 1:] |= step
    edge[:, :-1] |= step
    step = labels[1:] != labels[:-1]
    edge[1:] |= step
    edge[:-1] |= step
    edge &= labels != 0
    return edge


def overlay(
    rles: Any,
    image: Optional[np.ndarray] = None,
    *,
    alpha: float = 0.5,
    outline: bool = True,
    colors: Any = None,
    paint: str = "area",
    size: Optional[Sequence[int]] = None,
) -> np.ndarray:
    """Masks drawn in colour over an image, or on a dark background.

    Each pixel shows the mask on top there in :func:`sarle.label_map`'s
    paint order: its colour blended over the image with weight ``alpha``,
    or, on the mask's boundary, an opaque outline: the colour itself over a
    translucent fill (``alpha < 0.75``), else a strong shade of it (darker
    for bright colours, lighter for dark ones), as on the label-map
    picture. The boundary of a mask is its pixels with a 4-neighbour
    (inside the picture) that shows another mask or none, so touching masks
    get an outline each and a mask running off the picture's edge is not
    outlined along it.

    **Guarantee:** with an image, the result differs from the image at
    exactly the pixels that at least one mask covers, and equals it
    everywhere else. A covered pixel whose blend equals the image pixel is
    moved by :data:`NUDGE` on every channel, darker if the pixel is bright
    (channel sum at least 384), lighter otherwise, so it always changes.

    Parameters
    ----------
    rles : list of dicts or TFDS batch dict
        Masks of one size (``str`` or ``bytes`` counts, or run lists); may
        be empty. A single RLE dict is one mask.
    image : ndarray of uint8, optional
        ``(h, w, 3)`` RGB, or ``(h, w)`` grey (used as RGB), of the masks'
        size (or of ``size``). Not modified. ``None`` draws the label-map
        picture: opaque colours on :data:`BACKGROUND`.
    alpha : float
        Weight of a mask's colour in its fill, from 0 to 1; ignored without
        an image (the fill is opaque then).
    outline : bool
        Draw each mask's boundary in its outline colour.
    colors : array_like of int, shape ``(n, 3)``, optional
        RGB per mask (0 to 255); default ``palette(n)``.
    paint : {"area", "index"}
        Who is on top where masks overlap: ``"area"`` (default) paints
        larger masks first, so small ones stay visible; ``"index"`` paints
        in list order, later masks on top.
    size : (h, w), optional
        Draw the masks resampled to this size (nearest neighbour, as
        :func:`sarle.decode`), e.g. to match a downscaled image. Also gives
        the picture's size when there are no masks and no image.

    Returns
    -------
    ndarray of uint8, shape ``(h, w, 3)``
        A new array; with no masks, a copy of the image (as RGB) or the
        background.

    Raises
    ------
    ValueError
        The image's size is not the masks' (both sizes are named), a wrong
        image shape, ``alpha`` outside [0, 1], masks of different sizes,
        wrong ``colors``, or no masks with neither image nor ``size``.
    TypeError
        ``image`` not a uint8 numpy array, wrong argument types.

    Examples
    --------
    >>> import numpy as np, sarle
    >>> from sarle import render
    >>> a = np.zeros((4, 6), bool); a[:, :4] = True
    >>> b = np.zeros((4, 6), bool); b[1:3, 2:5] = True
    >>> rles = sarle.encode(np.array([a, b]))
    >>> image = np.zeros((4, 6, 3), np.uint8)
    >>> picture = render.overlay(rles, image, colors=[[255, 0, 0], [0, 0, 255]])
    >>> picture[..., 0]   # red: mask 0, fill 128 (alpha 0.5), outline 255
    array([[128, 128, 255, 255,   0,   0],
           [128, 255,   0,   0,   0,   0],
           [128, 255,   0,   0,   0,   0],
           [128, 128, 255, 255,   0,   0]], dtype=uint8)
    >>> picture[..., 2]   # blue: mask 1 is on top (smaller), all outline
    array([[  0,   0,   0,   0,   0,   0],
           [  0,   0, 255, 255, 255,   0],
           [  0,   0, 255, 255, 255,   0],
           [  0,   0,   0,   0,   0,   0]], dtype=uint8)
    >>> render.overlay(rles).shape   # the label-map picture
    (4, 6, 3)
    """
    weight = _check_alpha(alpha)
    if paint not in ("index", "area"):
        raise ValueError(f"paint must be 'index' or 'area', got {paint!r}")
    if image is not None:
        image = _check_picture(image, "image")
    if not _inputs.is_batch(rles):
        rles = [rles]
    n = _mask_count(rles)
    colors = palette(n) if colors is None else _check_colors(colors, n)
    if n == 0:
        return _no_masks(image, size)

    dtype = np.uint8 if n < 2**8 else np.uint16 if n < 2**16 else np.int32
    labels = label_map(rles, paint=paint, dtype=dtype, size=size)
    _check_size(image, labels.shape, size)
    if image is None:
        base = np.broadcast_to(np.array(BACKGROUND, np.uint8), labels.shape + (3,))
        table = np.concatenate([np.array([BACKGROUND], np.uint8), colors])
        picture = np.take(table, labels, axis=0)
    else:
        base = image
        picture = _blend(image, labels, colors, weight)
    if outline:
        translucent = image is not None and float(alpha) < _OPAQUE
        _draw_outlines(picture, labels, colors if translucent else _shades(colors))
    _ensure_changed(picture, base, labels)
    return picture


def _no_masks(image: Optional[np.ndarray], size: Any) -> np.ndarray:
    """The picture of an empty list: the image (as RGB) or the background."""
    if size is not None:
        if np.ndim(size) != 1 or len(size) != 2:
            raise ValueError(f"size must be (h, w), got {size!r}")
        shape = (_count(size[0], "size h"), _count(size[1], "size w"))
    elif image is not None:
        shape = image.shape[:2]
    else:
        raise ValueError("overlay of no masks needs an image or a size")
    _check_size(image, shape, size)
    if image is None:
        return np.broadcast_to(np.array(BACKGROUND, np.uint8), shape + (3,)).copy()
    return np.array(image)


def _blend(image: np.ndarray, labels: np.ndarray, colors: np.ndarray, weight: int) -> np.ndarray:
    """Each labelled pixel's colour blended over ``image``; others copied.

    Fixed point, exact at weight 0 and 256:
    ``(image * (256 - weight) + colour * weight + 128) >> 8``, within uint16.
    """
    table = np.concatenate([np.zeros((1, 3), np.uint16),
                            colors.astype(np.uint16) * weight + 128])
    blend = image.astype(np.uint16)
    blend *= 256 - weight
    blend += np.take(table, labels, axis=0)
    blend >>= 8
    picture = blend.astype(np.uint8)
    uncovered = np.flatnonzero(labels.reshape(-1) == 0)
    picture.reshape(-1, 3)[uncovered] = image.reshape(-1, 3)[uncovered]
    return picture


def _draw_outlines(picture: np.ndarray, labels: np.ndarray, colors: np.ndarray) -> None:
    """Paint each mask's boundary pixels in its row of ``colors``, opaque."""
    edge = np.flatnonzero(_outline(labels))
    table = np.concatenate([np.zeros((1, 3), np.uint8), colors])
    picture.reshape(-1, 3)[edge] = np.take(table, labels.reshape(-1)[edge], axis=0)


def _ensure_changed(picture: np.ndarray, base: np.ndarray, labels: np.ndarray) -> None:
    """Nudge every labelled pixel of ``picture`` still equal to ``base``.

    By :data:`NUDGE` on each channel: down if the pixel is bright (channel
    sum at least 384, so some channel is at least 128), up otherwise (some
    channel is below 128), so at least one channel always moves.
    """
    same = labels != 0
    for channel in range(3):
        same &= picture[..., channel] == base[..., channel]
    stuck = np.flatnonzero(same)
    if not stuck.size:
        return
    flat = picture.reshape(-1, 3)
    pixels = flat[stuck].astype(np.int16)
    bright = pixels.sum(axis=1, keepdims=True) >= 384
    pixels += np.where(bright, -NUDGE, NUDGE).astype(np.int16)
    flat[stuck] = np.clip(pixels, 0, 255).astype(np.uint8)


def _check_size(image: Optional[np.ndarray], shape: Sequence[int], size: Any) -> None:
    if image is None or tuple(image.shape[:2]) == tuple(shape):
        return
    h, w = image.shape[:2]
    where = "the size asked for" if size is not None else "the masks' size"
    raise ValueError(
        f"image is {h}x{w} (h x w) but {where} is {shape[0]}x{shape[1]}; "
        "they must be equal"
    )


# --------------------------------------------------------------------------- files

def read_image(data_or_path: Any) -> np.ndarray:
    """Decode a JPEG, PNG (or any format Pillow reads) to ``(h, w, 3)`` uint8 RGB.

    Grey, palette, CMYK and alpha images are converted to RGB (alpha is
    dropped); 16-bit grey keeps its high byte. No EXIF rotation is applied:
    pixels stay as stored, which is how SA-1B's masks line up with them.

    Parameters
    ----------
    data_or_path : bytes, path or binary file object
        The encoded image itself (``bytes``, ``bytearray``, ``memoryview``),
        a path (``str`` or ``os.PathLike``), or an open binary file.

    Returns
    -------
    ndarray of uint8, shape ``(h, w, 3)``
        A new, writeable, C-contiguous array.

    Raises
    ------
    ValueError
        The data is not an image Pillow can decode, or is truncated; the
        message names the path when there is one.
    FileNotFoundError, OSError
        The path cannot be opened.
    TypeError
        ``data_or_path`` is none of the above.

    Examples
    --------
    >>> import io, numpy as np
    >>> from sarle import render
    >>> buffer = io.BytesIO()
    >>> render.write_png(np.full((2, 3), 7, np.uint8), buffer)
    >>> picture = render.read_image(buffer.getvalue())
    >>> picture.shape, int(picture.max())
    ((2, 3, 3), 7)
    >>> render.read_image(b"not an image")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot decode image data (12 bytes): ...
    """
    if isinstance(data_or_path, (bytes, bytearray, memoryview)):
        data = bytes(data_or_path)
        return _decode_image(io.BytesIO(data), f"image data ({len(data)} bytes)")
    if isinstance(data_or_path, (str, os.PathLike)):
        path = os.fspath(data_or_path)
        with open(path, "rb") as handle:
            return _decode_image(handle, f"image file {path!r}")
    if hasattr(data_or_path, "read"):
        name = getattr(data_or_path, "name", None)
        what = f"image file {name!r}" if isinstance(name, str) else "image file object"
        return _decode_image(data_or_path, what)
    raise TypeError(
        "read_image takes bytes, a path or a binary file object, "
        f"got {type(data_or_path).__name__}"
    )


def _decode_image(handle: Any, what: str) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(handle) as opened:
            opened.load()
            if opened.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
                grey = np.asarray(opened)
                grey = (grey.astype(np.int64).clip(0, 65535) >> 8).astype(np.uint8)
                return np.repeat(grey[:, :, None], 3, axis=2)
            rgb = opened.convert("RGB")
            picture = np.array(rgb, dtype=np.uint8)
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as error:
        detail = str(error) or type(error).__name__
        raise ValueError(f"cannot decode {what}: {detail}") from error
    if picture.ndim != 3 or picture.shape[2] != 3:   # defensive: convert("RGB") promises this
        raise ValueError(f"cannot decode {what}: got pixels of shape {picture.shape}")
    return np.ascontiguousarray(picture)


def write_png(picture: np.ndarray, dest: Any) -> None:
    """Save an ``(h, w, 3)`` RGB or ``(h, w)`` grey uint8 picture as PNG.

    Written with zlib level 1: several times faster than Pillow's default
    for a few percent more bytes, which suits pictures made for a look.

    Parameters
    ----------
    picture : ndarray of uint8
        ``(h, w, 3)`` or ``(h, w)``, both at least 1 (PNG has no empty
        images); any memory layout.
    dest : path or binary file object
        A ``str`` or ``os.PathLike`` path (written as PNG whatever its
        extension), or a file object open for binary writing.

    Raises
    ------
    TypeError
        ``picture`` is not a uint8 numpy array, or ``dest`` is neither a
        path nor writable.
    ValueError
        Wrong shape, or an empty picture.

    Examples
    --------
    >>> import io, numpy as np
    >>> from sarle import render
    >>> buffer = io.BytesIO()
    >>> render.write_png(np.zeros((2, 3, 3), np.uint8), buffer)
    >>> buffer.getvalue()[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    if not isinstance(picture, np.ndarray):
        raise TypeError(f"picture must be a numpy array, got {type(picture).__name__}")
    if picture.dtype != np.uint8:
        raise TypeError(f"picture must have dtype uint8, got {picture.dtype}")
    if picture.ndim not in (2, 3) or (picture.ndim == 3 and picture.shape[2] != 3):
        raise ValueError(
            f"picture must have shape (h, w, 3) (RGB) or (h, w) (grey), got {picture.shape}"
        )
    if picture.shape[0] == 0 or picture.shape[1] == 0:
        raise ValueError(f"cannot write an empty picture of shape {picture.shape} as PNG")
    if isinstance(dest, (str, os.PathLike)):
        dest = os.fspath(dest)
    elif not hasattr(dest, "write"):
        raise TypeError(
            f"dest must be a path or a binary file object, got {type(dest).__name__}"
        )

    from PIL import Image

    Image.fromarray(np.ascontiguousarray(picture)).save(dest, format="PNG", compress_level=1)
