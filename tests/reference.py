"""A tiny, obviously-correct reference codec for COCO run-length encoding.

This is the second oracle of the test suite (the first is pycocotools, used
live where it is right).  It is independent of both sarle and pycocotools,
written for clarity, not speed, and exact for any size: every count, sum,
area and coordinate is a Python ``int``, so ``h * w >= 2**32`` and runs of
``2**32`` or more are handled without wrapping.

Conventions (the COCO format)
-----------------------------
* A mask of shape ``(h, w)`` is read column-major (down the first column,
  then the next one).
* Runs alternate background, foreground, background, ...; the first run may
  be 0.  Runs sum to ``h * w``.
* *Canonical* runs have no zero-length run except possibly the first one,
  and an empty (``h * w == 0``) mask is ``[0]``, which is exactly what
  pycocotools' ``encode`` produces.

Everything that takes ``runs`` accepts any iterable of non-negative ints,
canonical or not (zero-length interior runs allowed).
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

__all__ = [
    "area",
    "bbox",
    "bbox_from_mask",
    "canonical",
    "compress",
    "intervals_from_runs",
    "iou",
    "mask_from_runs",
    "merge",
    "runs_from_intervals",
    "runs_from_mask",
    "runs_from_string",
    "string_from_runs",
]


# --------------------------------------------------------------------------
# runs <-> dense masks
# --------------------------------------------------------------------------


def runs_from_mask(mask) -> list[int]:
    """Canonical column-major runs of a 2-D mask (non-zero = foreground)."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError("mask must be 2-D")
    pixels = (mask != 0).ravel(order="F")
    n = pixels.size
    if n == 0:
        return [0]
    # Positions where the value changes, plus both ends.
    changes = np.flatnonzero(pixels[1:] != pixels[:-1]) + 1
    bounds = [0] + [int(c) for c in changes] + [n]
    runs = [b - a for a, b in zip(bounds[:-1], bounds[1:])]
    if pixels[0]:
        runs.insert(0, 0)
    return runs


def mask_from_runs(runs: Iterable[int], h: int, w: int) -> np.ndarray:
    """Dense boolean ``(h, w)`` C-ordered mask of ``runs``."""
    runs = _checked_runs(runs, h, w)
    values = np.arange(len(runs)) % 2 == 1  # background, foreground, ...
    flat = np.repeat(values, np.asarray(runs, dtype=np.int64)) if runs else np.zeros(0, bool)
    return np.ascontiguousarray(flat.reshape(w, h).T)


def _checked_runs(runs: Iterable[int], h: int, w: int) -> list[int]:
    runs = [int(r) for r in runs]
    if any(r < 0 for r in runs):
        raise ValueError(f"negative run in {runs!r}")
    if sum(runs) != int(h) * int(w):
        raise ValueError(f"runs sum to {sum(runs)}, expected h*w = {int(h) * int(w)}")
    return runs


# --------------------------------------------------------------------------
# runs <-> foreground intervals (half-open [start, end) in column-major order)
# --------------------------------------------------------------------------


def intervals_from_runs(runs: Iterable[int]) -> list[tuple[int, int]]:
    """Non-empty foreground intervals ``[start, end)``, sorted, merged."""
    out: list[tuple[int, int]] = []
    pos = 0
    for i, r in enumerate(runs):
        r = int(r)
        if i % 2 == 1 and r > 0:
            if out and out[-1][1] == pos:  # touching: zero background run between
                out[-1] = (out[-1][0], pos + r)
            else:
                out.append((pos, pos + r))
        pos += r
    return out


def runs_from_intervals(intervals: Iterable[tuple[int, int]], n: int) -> list[int]:
    """Canonical runs of a length-``n`` pixel sequence with these foreground intervals."""
    runs: list[int] = []
    pos = 0
    for start, end in intervals:
        if end <= start:
            continue
        if runs and start == pos:  # touches the previous interval: extend it
            runs[-1] += end - start
        else:
            runs.append(start - pos)
            runs.append(end - start)
        pos = end
    if pos < n:
        runs.append(n - pos)
    return runs if runs else [0]


def canonical(runs: Iterable[int]) -> list[int]:
    """Same mask, canonical runs (no zero-length run except the first)."""
    runs = [int(r) for r in runs]
    return runs_from_intervals(intervals_from_runs(runs), sum(runs))


# --------------------------------------------------------------------------
# runs <-> the COCO compressed string
# --------------------------------------------------------------------------


def string_from_runs(runs: Sequence[int]) -> str:
    """The COCO compressed string of ``runs`` (written as given, not canonicalised).

    Counts at index 0, 1, 2 are written raw, later ones as the difference
    from the count two places before.  Each value is written as
    little-endian 5-bit groups; every group but the last has bit 0x20 set;
    the last group's bit 0x10 is the sign; each group becomes chr(group + 48).
    """
    runs = [int(r) for r in runs]
    chars = []
    for i, count in enumerate(runs):
        x = count - runs[i - 2] if i > 2 else count
        while True:
            group = x & 0x1F
            x >>= 5  # Python's >> on ints is an arithmetic shift
            # Done when what is left is just the sign extension of `group`.
            more = x != (-1 if group & 0x10 else 0)
            chars.append(chr(group + 48 + (0x20 if more else 0)))
            if not more:
                break
    return "".join(chars)


def runs_from_string(s: str | bytes) -> list[int]:
    """Runs of a COCO compressed string; raises ValueError if malformed."""
    if isinstance(s, bytes):
        s = s.decode("ascii")
    runs: list[int] = []
    pos = 0
    while pos < len(s):
        x = 0
        shift = 0
        while True:
            if pos >= len(s):
                raise ValueError(f"string ends inside a 5-bit group at position {pos}")
            c = ord(s[pos]) - 48
            if not 0 <= c < 64:
                raise ValueError(f"invalid character {s[pos]!r} at position {pos}")
            x |= (c & 0x1F) << shift
            shift += 5
            pos += 1
            if not c & 0x20:
                if c & 0x10:  # sign-extend the last group
                    x -= 1 << shift
                break
        if len(runs) > 2:
            x += runs[-2]
        if x < 0:
            raise ValueError(f"negative run {x} ending at position {pos}")
        runs.append(x)
    return runs


def compress(runs: Iterable[int]) -> str:
    """Canonical compressed string of the mask described by ``runs``."""
    return string_from_runs(canonical(runs))


# --------------------------------------------------------------------------
# measurements (pycocotools' semantics), from runs, exact
# --------------------------------------------------------------------------


def area(runs: Iterable[int]) -> int:
    """Number of foreground pixels."""
    return sum(int(r) for r in list(runs)[1::2])


def bbox(runs: Iterable[int], h: int, w: int) -> list[int]:
    """``[x, y, width, height]`` of the foreground, as pycocotools' toBbox.

    ``width = x_max - x_min + 1`` (same for height); an empty mask gives
    ``[0, 0, 0, 0]``.
    """
    h = int(h)
    x0 = y0 = None
    x1 = y1 = -1
    for start, end in intervals_from_runs(runs):
        last = end - 1
        col_a, row_a = divmod(start, h)
        col_b, row_b = divmod(last, h)
        if col_a == col_b:
            rows = (row_a, row_b)
        else:  # spans a column boundary: covers the bottom and the top row
            rows = (0, h - 1)
        x0 = col_a if x0 is None else min(x0, col_a)
        y0 = rows[0] if y0 is None else min(y0, rows[0])
        x1 = max(x1, col_b)
        y1 = max(y1, rows[1])
    if x0 is None:
        return [0, 0, 0, 0]
    return [x0, y0, x1 - x0 + 1, y1 - y0 + 1]


def bbox_from_mask(mask) -> list[int]:
    """Same as :func:`bbox`, computed from a dense mask with numpy."""
    mask = np.asarray(mask) != 0
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if xs.size == 0:
        return [0, 0, 0, 0]
    return [int(xs[0]), int(ys[0]), int(xs[-1] - xs[0] + 1), int(ys[-1] - ys[0] + 1)]


def _intersection(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    """Number of positions in both interval lists (both sorted, disjoint)."""
    i = j = total = 0
    while i < len(a) and j < len(b):
        lo = max(a[i][0], b[j][0])
        hi = min(a[i][1], b[j][1])
        total += max(0, hi - lo)
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def iou(dt: Sequence[Sequence[int]], gt: Sequence[Sequence[int]], iscrowd=None) -> np.ndarray:
    """``(len(dt), len(gt))`` float64 IoU matrix of run lists (pycocotools' semantics).

    ``iou = inter / union``; when ``iscrowd[j]`` is true, ``inter / area(dt)``;
    0.0 when ``inter == 0``.  ``inter / u`` is a true division of two exact
    ints (correctly rounded, as C's ``(double)i / (double)u`` when both are
    below 2**53).
    """
    out = np.zeros((len(dt), len(gt)), dtype=np.float64)
    dt_iv = [intervals_from_runs(r) for r in dt]
    gt_iv = [intervals_from_runs(r) for r in gt]
    dt_area = [area(r) for r in dt]
    gt_area = [area(r) for r in gt]
    for j in range(len(gt)):
        crowd = bool(iscrowd[j]) if iscrowd is not None else False
        for i in range(len(dt)):
            inter = _intersection(dt_iv[i], gt_iv[j])
            if inter == 0:
                continue
            union = dt_area[i] if crowd else dt_area[i] + gt_area[j] - inter
            out[i, j] = inter / union
    return out


def merge(runs_list: Sequence[Sequence[int]], intersect: bool = False) -> list[int]:
    """Canonical runs of the union (or intersection) of masks of one size."""
    runs_list = [[int(r) for r in runs] for runs in runs_list]
    if not runs_list:
        raise ValueError("merge needs at least one mask")
    n = sum(runs_list[0])
    if any(sum(r) != n for r in runs_list):
        raise ValueError("masks of different sizes")
    # Sweep over +1 / -1 events; a position is in the result when its depth
    # (number of masks covering it) is >= 1 (union) or == len (intersection).
    need = len(runs_list) if intersect else 1
    events: dict[int, int] = {}
    for runs in runs_list:
        for start, end in intervals_from_runs(runs):
            events[start] = events.get(start, 0) + 1
            events[end] = events.get(end, 0) - 1
    out: list[tuple[int, int]] = []
    depth = 0
    open_at = None
    for pos in sorted(events):
        depth += events[pos]
        if depth >= need and open_at is None:
            open_at = pos
        elif depth < need and open_at is not None:
            out.append((open_at, pos))
            open_at = None
    return runs_from_intervals(out, n)
